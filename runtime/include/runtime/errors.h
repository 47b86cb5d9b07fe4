// Status codes shared by every layer. The values are the C ABI's GORT_E*
// codes (c_api maps them one to one).
#pragma once

namespace gort {

enum Status : int {
    kOK = 0,
    kEINVAL = -1,          // bad argument
    kENOTINIT = -2,        // runtime not initialised
    kEALREADY = -3,        // already initialised
    kENOMEM = -4,          // out of memory
    kEAGAIN = -5,          // would block
    kECLOSED = -6,         // channel closed
    kEOVERFLOW = -7,       // counter overflow
    kEBUSY = -8,           // goroutines remain / wrong state
    kETIMEDOUT = -9,       // timed out
    kENOTGOROUTINE = -10,  // needs goroutine context
    kETHREAD = -11,        // a thread could not be created
    kENOTSUP = -12,        // not supported (a forked child, a missing feature)
    kEDEADLK = -13,        // the call would wait for itself
};

}  // namespace gort
