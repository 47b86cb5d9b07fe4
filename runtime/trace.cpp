// runtime/trace.cpp: being written (see the issue tracker); intentionally empty.
