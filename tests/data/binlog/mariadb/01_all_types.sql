-- Fixture 01: ROW events over many column types; binlog_format=ROW, binlog_row_image=FULL,
-- binlog_row_metadata=FULL, binlog_checksum=CRC32, MariaDB 10.11.19. Run via:
--   scripts/make-binlog-fixtures.sh (tests/data/binlog/README.md)
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET SESSION binlog_row_image = FULL;
DROP DATABASE IF EXISTS fx;
CREATE DATABASE fx CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE fx;
CREATE TABLE all_types (
  id    INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ti    TINYINT,            tiu  TINYINT UNSIGNED,
  si    SMALLINT,           siu  SMALLINT UNSIGNED,
  mi    MEDIUMINT,          miu  MEDIUMINT UNSIGNED,
  i     INT,                iu   INT UNSIGNED,
  bi    BIGINT,             biu  BIGINT UNSIGNED,
  dec1  DECIMAL(10,2),      dec2 DECIMAL(65,30),     dec3 DECIMAL(5,0),
  f     FLOAT,              d    DOUBLE,
  dt    DATE,               tm   TIME,               tm3  TIME(3),
  dtm   DATETIME,           dtm6 DATETIME(6),
  ts    TIMESTAMP NULL DEFAULT NULL,                 ts6  TIMESTAMP(6) NULL DEFAULT NULL,
  y     YEAR,
  c     CHAR(10)     CHARACTER SET utf8mb4,
  vc    VARCHAR(300) CHARACTER SET utf8mb4,
  vcs   VARCHAR(20)  CHARACTER SET utf8mb4,
  cl1   CHAR(5)      CHARACTER SET latin1,
  bn    BINARY(4),          vbn  VARBINARY(300),
  tb    TINYBLOB,           b    BLOB,               mb   MEDIUMBLOB,   lb LONGBLOB,
  tx    TEXT CHARACTER SET utf8mb4,
  e     ENUM('red','green','blue'),
  s     SET('a','b','c','d'),
  bt1   BIT(1),             bt17 BIT(17),            bt64 BIT(64),
  j     JSON,
  pt    POINT NULL,
  u     UUID NULL,
  ip6   INET6 NULL
) ENGINE=InnoDB;

-- single-row insert, "typical" values incl. 4-byte UTF-8
INSERT INTO all_types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,dec1,dec2,dec3,f,d,dt,tm,tm3,dtm,dtm6,ts,ts6,y,c,vc,vcs,cl1,bn,vbn,tb,b,mb,lb,tx,e,s,bt1,bt17,bt64,j,pt,u,ip6)
VALUES (-1,1,-2,2,-3,3,-4,4,-5,5,12345678.91,'-1234567890.123456789012345678901234567890',-99999,3.25,-2.5e-300,
 '2024-02-29','-838:59:59','12:34:56.789','2024-02-29 23:59:59','1000-01-01 00:00:00.000001','2038-01-19 03:14:07','2020-06-15 12:00:00.654321',2024,
 'héllo','Grüße, 世界 😀 emoji','ok','abc',X'00FF10',X'DEADBEEF00',X'01',REPEAT('b',300),REPEAT('m',70000),X'',
 'text ✓ ünïcødé','green','a,c',b'1',b'10101010101010101',b'1111111111111111111111111111111111111111111111111111111111111111',
 '{"k": [1, 2.5, "s", null, true, {"n": {}}]}', ST_GeomFromText('POINT(1.5 -2.25)'),'123e4567-e89b-12d3-a456-426614174000','2001:db8::1');

-- multi-row insert: minimum values, maximum values, and an all-NULL row
INSERT INTO all_types (ti,tiu,si,siu,mi,miu,i,iu,bi,biu,dec1,dec2,dec3,f,d,dt,tm,tm3,dtm,dtm6,ts,ts6,y,c,vc,vcs,cl1,bn,vbn,tb,b,mb,lb,tx,e,s,bt1,bt17,bt64,j)
VALUES
 (-128,0,-32768,0,-8388608,0,-2147483648,0,-9223372036854775808,0,-99999999.99,'-99999999999999999999999999999999999.999999999999999999999999999999',-99999,-3.402823466e+38,-1.7976931348623157e+308,
  '1000-01-01','-838:59:59.000','-838:59:58.999','1000-01-01 00:00:00','1000-01-01 00:00:00.000000','1970-01-01 00:00:01','1970-01-01 00:00:01.000000',1901,
  '','','','',X'00000000',X'',X'',X'',X'',X'','','red','',b'0',b'0',b'0','[]'),
 (127,255,32767,65535,8388607,16777215,2147483647,4294967295,9223372036854775807,18446744073709551615,99999999.99,'99999999999999999999999999999999999.999999999999999999999999999999',99999,3.402823466e+38,1.7976931348623157e+308,
  '9999-12-31','838:59:59','838:59:58.999','9999-12-31 23:59:59','9999-12-31 23:59:59.999999','2038-01-19 03:14:07','2038-01-19 03:14:07.999999',2155,
  'ZZZZZZZZZZ',REPEAT('ü',300),REPEAT('x',20),'ÿÿÿÿÿ',X'FFFFFFFF',REPEAT(X'AB',300),REPEAT(X'FF',255),REPEAT('B',65535),REPEAT('M',200000),REPEAT('L',300000),REPEAT('t',1000),'blue','a,b,c,d',b'1',b'11111111111111111',b'1000000000000000000000000000000000000000000000000000000000000001','{"big": 18446744073709551615, "neg": -9223372036854775808, "f": 1.5e300, "s": "ü😀"}'),
 (NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);

-- zero dates allowed only without strict NO_ZERO_DATE
SET SESSION sql_mode = '';
INSERT INTO all_types (dt,dtm,dtm6,ts,y) VALUES ('0000-00-00','0000-00-00 00:00:00','0000-00-00 00:00:00.000000','0000-00-00 00:00:00',0);
SET SESSION sql_mode = DEFAULT;

-- UPDATE (single and multi-row), DELETE
UPDATE all_types SET vc = CONCAT(IFNULL(vc,''),' [upd]'), i = IFNULL(i,0) + 1, j = JSON_SET(IFNULL(j,'{}'), '$.upd', 1) WHERE id <= 2;
UPDATE all_types SET e = 'red', s = 'b,d', ts = '2001-01-01 00:00:00' WHERE id = 3;
DELETE FROM all_types WHERE id = 4;

-- table without PK, other engines
CREATE TABLE nopk (a INT, b VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO nopk VALUES (1,'x'),(1,'x'),(2,'y');
UPDATE nopk SET b='z' WHERE a=1;
DELETE FROM nopk WHERE a=1 LIMIT 1;
CREATE TABLE nt (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=Aria;

-- rolled-back transaction (InnoDB only): nothing should reach the binlog
BEGIN;
INSERT INTO nopk VALUES (100,'rolled');
UPDATE all_types SET i = -42 WHERE id = 1;
ROLLBACK;

-- rolled-back transaction touching a NON-transactional table (Aria): its rows are logged anyway
BEGIN;
INSERT INTO nopk VALUES (101,'rolled2');
INSERT INTO nt VALUES (1,'nontrans survives');
ROLLBACK;

-- savepoint + partial rollback, then commit
BEGIN;
INSERT INTO nopk VALUES (200,'kept');
SAVEPOINT sp1;
INSERT INTO nopk VALUES (201,'undone');
ROLLBACK TO SAVEPOINT sp1;
INSERT INTO nopk VALUES (202,'kept2');
COMMIT;

-- multi-statement transaction across two tables
BEGIN;
INSERT INTO nopk VALUES (300,'tx');
UPDATE all_types SET biu = 42 WHERE id = 1;
DELETE FROM nopk WHERE a = 2;
COMMIT;

-- upserts
CREATE TABLE kv (k VARCHAR(10) PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;
INSERT INTO kv VALUES ('a',1),('b',2);
INSERT INTO kv VALUES ('a',10),('c',3) ON DUPLICATE KEY UPDATE v = v + VALUES(v);
REPLACE INTO kv VALUES ('b',20);
-- multi-table update / delete
UPDATE kv JOIN nopk ON nopk.a = 200 SET kv.v = kv.v + 1000, nopk.b = 'mtu' WHERE kv.k = 'a';
DELETE kv, nopk FROM kv JOIN nopk ON nopk.a = 300 WHERE kv.k = 'c';

-- DDL in between, then DML against the new shape (new TABLE_MAP)
ALTER TABLE kv ADD COLUMN note VARCHAR(30) NULL AFTER k, ADD COLUMN created DATETIME(3) NOT NULL DEFAULT '2020-01-01 00:00:00.000';
INSERT INTO kv (k,note,v) VALUES ('d','after alter',4);
UPDATE kv SET note='changed' WHERE k='a';
ALTER TABLE kv DROP COLUMN note;
UPDATE kv SET v = v * 2;
RENAME TABLE kv TO kv2;
DELETE FROM kv2 WHERE k='d';
TRUNCATE TABLE nopk;
INSERT INTO nopk VALUES (1,'aftertrunc');

-- a single statement big enough to be split into several ROWS events (STMT_END_F only on the last)
CREATE TABLE wide (id INT PRIMARY KEY, pad VARCHAR(2000)) ENGINE=InnoDB;
INSERT INTO wide SELECT seq, REPEAT(CHAR(65 + seq % 26), 1000) FROM seq_1_to_50;
UPDATE wide SET pad = REPEAT('z', 1500) WHERE id <= 20;
DELETE FROM wide WHERE id > 40;

-- XA transaction (MariaDB >=10.5 logs XA_PREPARE_LOG_EVENT, 38)
XA START 'xa1';
INSERT INTO nopk VALUES (400,'xa');
XA END 'xa1';
XA PREPARE 'xa1';
XA COMMIT 'xa1';

DROP TABLE wide;
