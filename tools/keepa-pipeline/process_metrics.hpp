// The metrics of the process itself, which prometheus-cpp has no collector
// for: the standard process_* names (read from /proc/self and getrlimit, as
// the Go and Python clients do) and keepa_build_info{version, commit}.

#pragma once

#include <string>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace keepa {

/// Adds process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_start_time_seconds,
/// process_open_fds and process_max_fds of this process (what /proc
/// cannot tell is left out), and keepa_build_info.
void add_process_metrics(prometheus::Registry& reg);

} // namespace keepa
