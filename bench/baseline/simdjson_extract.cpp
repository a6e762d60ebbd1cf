// Baseline for bench/pipeline.ts: how fast can one core parse NDJSON and pull
// out a few fields? simdjson's On-Demand API (iterate_many over the whole
// buffer) parses the first N events of a file and extracts the five most-used
// fields of the shared corpus (EventID, Channel, Provider_Name, Computer,
// TimeCreated_SystemTime; see /work/shared/events/stats.json).
//
// usage: simdjson_extract <file.ndjson> <max events>
// prints one JSON line: events, seconds (parse + extract only, file read
// excluded) and, per field, how many events had it, which the bench checks
// against Bun's JSON.parse over the same events.
#include <simdjson.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace simdjson;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <file.ndjson> <max events>\n", argv[0]);
    return 2;
  }
  const long max_events = std::atol(argv[2]);
  padded_string json;
  if (padded_string::load(argv[1]).get(json)) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  const char* fields[5] = {"EventID", "Channel", "Provider_Name", "Computer", "TimeCreated_SystemTime"};
  long found[5] = {0, 0, 0, 0, 0};
  unsigned long long checksum = 0;
  long events = 0;
  ondemand::parser parser;
  auto started = std::chrono::steady_clock::now();
  ondemand::document_stream stream;
  if (parser.iterate_many(json, 1 << 20).get(stream)) {
    std::fprintf(stderr, "iterate_many failed\n");
    return 1;
  }
  for (auto doc : stream) {
    if (events >= max_events) break;
    ondemand::object obj;
    if (doc.get_object().get(obj)) {
      std::fprintf(stderr, "event %ld is not an object\n", events);
      return 1;
    }
    for (int i = 0; i < 5; i++) {
      // find_field_unordered: the fields appear in any order in these events.
      ondemand::value v;
      if (obj.find_field_unordered(fields[i]).get(v)) continue;
      found[i]++;
      ondemand::json_type t;
      if (v.type().get(t)) continue;
      if (t == ondemand::json_type::number) {
        int64_t n;
        if (!v.get_int64().get(n)) checksum += static_cast<unsigned long long>(n);
      } else if (t == ondemand::json_type::string) {
        std::string_view s;
        if (!v.get_string().get(s)) checksum += s.size();
      }
    }
    events++;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("{\"events\":%ld,\"seconds\":%.6f,\"checksum\":%llu,\"found\":[%ld,%ld,%ld,%ld,%ld]}\n", events, seconds,
              checksum, found[0], found[1], found[2], found[3], found[4]);
  return 0;
}
