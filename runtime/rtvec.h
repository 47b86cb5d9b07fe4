// RtVec<T>: a growable array for the runtime's own bookkeeping, for
// trivially copyable T. It allocates with rtrealloc, so running out of
// memory is fatal instead of a C++ exception (base.h's allocation policy),
// and it is itself trivially relocatable (a pointer and two counts).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <type_traits>

#include "runtime/base.h"

namespace gort {

template <class T>
class RtVec {
    static_assert(std::is_trivially_copyable_v<T>, "RtVec holds plain data");

  public:
    void push_back(const T& v) {
        if (n_ == cap_) {
            cap_ = cap_ == 0 ? 16 : 2 * cap_;
            data_ = static_cast<T*>(rtrealloc(data_, cap_ * sizeof(T), "runtime bookkeeping"));
        }
        data_[n_++] = v;
    }
    void pop_back() { n_--; }
    T& back() { return data_[n_ - 1]; }
    T& operator[](size_t i) { return data_[i]; }
    size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    T* begin() { return data_; }
    T* end() { return data_ + n_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + n_; }
    // reset frees the memory.
    void reset() {
        free(data_);
        data_ = nullptr;
        n_ = cap_ = 0;
    }

  private:
    T* data_ = nullptr;
    size_t n_ = 0, cap_ = 0;
};

}  // namespace gort
