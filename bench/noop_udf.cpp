// rowcast_noop_udf.so: a loadable function that takes any arguments and returns 0, for
// bench/trigger_bench.cpp: a trigger calling rowcast_noop() with rowcast_event()'s arguments
// measures what MariaDB's trigger execution and UDF argument passing cost, without rowcast's work.
#include <mysql.h>

extern "C" __attribute__((visibility("default"))) my_bool rowcast_noop_init(UDF_INIT* initid, UDF_ARGS*, char*) {
    initid->maybe_null = 1;
    initid->const_item = 0;
    return 0;
}
extern "C" __attribute__((visibility("default"))) void rowcast_noop_deinit(UDF_INIT*) {}
extern "C" __attribute__((visibility("default"))) long long rowcast_noop(UDF_INIT*, UDF_ARGS*, char* is_null, char*) {
    *is_null = 0;
    return 0;
}
