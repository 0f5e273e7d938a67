-- Workload reused by fixtures 02..04 (settings are applied by scripts/make-binlog-fixtures.sh)
SET NAMES utf8mb4; SET time_zone='+00:00';
DROP DATABASE IF EXISTS fxv; CREATE DATABASE fxv; USE fxv;
CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(100), b BLOB, n DECIMAL(12,4), e ENUM('x','y'), d DATETIME(6), j JSON, u BIGINT UNSIGNED) ENGINE=InnoDB;
INSERT INTO t VALUES (1,'one',REPEAT('B',500),1.5,'x','2020-01-01 00:00:00.5','{"a":1}',18446744073709551615),
                     (2,'two',NULL,-2.25,'y',NULL,NULL,0),(3,REPEAT('ü',100),X'00',0,NULL,'2038-01-19 03:14:07.999999','[1,2]',7);
UPDATE t SET a = CONCAT(a,'!'), n = n * 2 WHERE id IN (1,2);
UPDATE t SET b = NULL WHERE id = 1;
DELETE FROM t WHERE id = 3;
ALTER TABLE t ADD COLUMN extra INT NOT NULL DEFAULT 7;
INSERT INTO t (id,a) VALUES (4,'post-ddl');
BEGIN; INSERT INTO t (id,a) VALUES (5,'rolled'); ROLLBACK;
