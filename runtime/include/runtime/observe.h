// Seeing the scheduler, for the layers above: the execution trace
// (runtime/trace.cpp) and goroutine dumps (runtime/dump.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gort {

// What stamps the events: the TSC where the kernel keeps time by it, else
// nanotime (automatic), or nanotime always (monotonic).
enum class TraceClockChoice : uint8_t { automatic, monotonic };

struct TraceOptions {
    const char* path = nullptr;  // the JSON file (created or truncated)
    size_t bufferBytes = 0;      // memory for events not yet written; 0: 64 MiB
    TraceClockChoice clock = TraceClockChoice::automatic;
};

// traceStart opens the file and starts recording: kOK, kEALREADY (a trace is
// running), kEINVAL (no path, or the file cannot be created: errno says
// why), kETHREAD (the writer thread could not be created).
int traceStart(const TraceOptions& o);
// traceStop stops recording, writes what is buffered and finishes the file:
// kOK, or kEINVAL when no trace is running.
int traceStop();

// dumpGoroutines writes every goroutine, with its stack, to fd (the
// caller's own goroutine first).
void dumpGoroutines(int fd);

}  // namespace gort
