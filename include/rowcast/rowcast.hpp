// rowcast/rowcast.hpp: the umbrella header of the core library (target
// rowcast::rowcast): the Event model, typed values, column lists, the
// result/error type, the codec concept and the binary codec, the shared services
// (log hook, stats, backoff) and the pipeline concepts with run().
//
// It deliberately does not include the text codecs, which need third-party
// libraries; include those where you use them and link their component:
//   #include <rowcast/codec/json.hpp>   // rowcast::json (nlohmann_json)
//   #include <rowcast/codec/yaml.hpp>   // rowcast::yaml (yaml-cpp)
// tests/package checks that this header pulls in neither nlohmann nor yaml-cpp.
#pragma once

#include <rowcast/version.hpp>
#include <rowcast/fwd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/value.hpp>
#include <rowcast/column.hpp>
#include <rowcast/event.hpp>
#include <rowcast/codec/concept.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/log.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/backoff.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/pipeline/source.hpp>
#include <rowcast/pipeline/run.hpp>
