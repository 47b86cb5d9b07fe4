/**
 * \file gort_ffi.h
 * \brief libffi calls and closures of the gort C interface: struct and
 * variadic signatures, calls that run as cgocalls, closures callable from
 * any thread. Included by gort.h; include gort.h, not this file.
 */
#ifndef GORT_FFI_H
#define GORT_FFI_H

#include "gort.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- libffi calls and closures ----------------------------------------- */

/** \name ffi type codes
 * Types of ffi return values and arguments.
 * \{ */
/** \brief void (return type only). */
#define GORT_FFI_VOID 0
/** \brief int8_t. */
#define GORT_FFI_INT8 1
/** \brief uint8_t. */
#define GORT_FFI_UINT8 2
/** \brief int16_t. */
#define GORT_FFI_INT16 3
/** \brief uint16_t. */
#define GORT_FFI_UINT16 4
/** \brief int32_t. */
#define GORT_FFI_INT32 5
/** \brief uint32_t. */
#define GORT_FFI_UINT32 6
/** \brief int64_t. */
#define GORT_FFI_INT64 7
/** \brief uint64_t. */
#define GORT_FFI_UINT64 8
/** \brief float. */
#define GORT_FFI_FLOAT 9
/** \brief double. */
#define GORT_FFI_DOUBLE 10
/** \brief any data pointer (void *). */
#define GORT_FFI_POINTER 11
/** \brief C99 bool (_Bool). */
#define GORT_FFI_BOOL 12
/** \brief long double, where libffi supports it on the platform
 * (gort_ffi_sig_make fails with EINVAL where it does not). */
#define GORT_FFI_LONGDOUBLE 13
/** \brief size_t (the unsigned integer of that width). */
#define GORT_FFI_SIZE_T 14
/** \brief ssize_t (the signed integer of that width). */
#define GORT_FFI_SSIZE_T 15
/** \brief intptr_t (the signed integer of pointer width). */
#define GORT_FFI_INTPTR 16
/** \} */

/** \brief The most arguments a signature takes (fixed and variadic). */
#define GORT_FFI_MAX_ARGS 64
/** \brief The most fields a struct type takes. */
#define GORT_FFI_MAX_FIELDS 256
/** \brief The largest struct type, in bytes. */
#define GORT_FFI_MAX_STRUCT_SIZE 65536

/** \brief Make a struct type: fields of the given types, laid out as the
 * platform's C compiler lays out such a struct (alignment, padding).
 *
 * The code it returns is usable wherever a type code is, as an argument or
 * return type (by value) and as a field of another struct. Struct types live
 * as long as the process (they outlive gort_shutdown); making the same field
 * list twice gives two codes of equal layout.
 * \param field_types n type codes (struct codes allowed; not #GORT_FFI_VOID)
 * \param n the number of fields, 1..#GORT_FFI_MAX_FIELDS
 * \return the new type code (positive), or #GORT_EINVAL (a bad field type,
 *         n out of range, a struct larger than #GORT_FFI_MAX_STRUCT_SIZE),
 *         #GORT_ENOMEM (also once 2^20 struct types exist); errno is set and
 *         a line on stderr names what is wrong */
GORT_API int gort_ffi_struct_make(const int* field_types, size_t n);

/** \brief A call signature for gort_ffi_call and closures (a checked handle). */
typedef struct gort_ffi_sig gort_ffi_sig;
/** \brief A C function pointer that calls a handler (a checked handle). */
typedef struct gort_ffi_closure gort_ffi_closure;

/** \brief Build a call signature.
 *
 * Signatures (and closures) outlive gort_shutdown: a C library may keep a
 * closure's function pointer for the life of the process. Signatures of
 * equal shape share one description, so making and releasing them over and
 * over takes no memory (ENOMEM once 2^18 different shapes exist).
 * \param rtype the return type, a `GORT_FFI_*` or struct code
 * \param argtypes nargs argument types (#GORT_FFI_VOID only as a return type)
 * \param nargs the number of arguments, at most #GORT_FFI_MAX_ARGS
 * \return the signature, or NULL with errno set (EINVAL on bad input, with a
 *         message on stderr naming the argument; ENOMEM) */
GORT_API gort_ffi_sig* gort_ffi_sig_make(int rtype, const int* argtypes, size_t nargs);
/** \brief Build a call signature for a variadic function, for one shape of
 * call: nfixed fixed arguments followed by nargs - nfixed variadic ones
 * (libffi's ffi_prep_cif_var). Variadic arguments undergo C's default
 * promotions: pass float as #GORT_FFI_DOUBLE and integers narrower than int
 * as #GORT_FFI_INT32 (a float, bool or integer narrower than int among the
 * variadic arguments is EINVAL).
 * \param rtype the return type
 * \param argtypes nargs argument types
 * \param nfixed the number of fixed arguments, 1..nargs
 * \param nargs the number of arguments in all, at most #GORT_FFI_MAX_ARGS
 * \return the signature, or NULL with errno set (EINVAL, ENOMEM) */
GORT_API gort_ffi_sig* gort_ffi_sig_make_variadic(int rtype, const int* argtypes, size_t nfixed,
                                                  size_t nargs);
/** \brief Release a signature.
 * \param sig the signature
 * \return #GORT_OK or #GORT_EINVAL */
GORT_API int gort_ffi_sig_release(gort_ffi_sig* sig);
/** \brief Call fn with the signature, as a gort_cgocall.
 * \param sig the signature
 * \param fn the function to call
 * \param ret receives the result: at least 8 bytes, or the size of the
 *        return type if larger (a struct, long double); may be NULL for VOID.
 *        An integer narrower than 64 bits is stored widened to 64 bits.
 * \param args args[i] points at the i-th argument's value (not modified)
 * \return #GORT_OK, #GORT_EINVAL (a line on stderr names the argument) or
 *         #GORT_ENOTINIT (checked first) */
GORT_API int gort_ffi_call(gort_ffi_sig* sig, void (*fn)(void), void* ret, void** args);

/** \brief A closure handler.
 *
 * It runs as goroutine code (through gort_callback), on whatever thread C
 * calls the closure from. Called while no runtime runs (before gort_init,
 * after gort_shutdown), it still runs, as plain C on the calling thread
 * (where gort calls return #GORT_ENOTINIT).
 *
 * The result (libffi's rule): for an integer return type narrower than 64
 * bits (bool, int8..int32, uint8..uint32) write the value widened to 64
 * bits into *ret, as an int64_t for a signed type and a uint64_t for an
 * unsigned one; for every other type write the type itself. A C++
 * exception escaping the handler is fatal.
 * \param ret where the result goes
 * \param args args[i] points at the i-th argument
 * \param userdata the pointer given to gort_ffi_closure_make */
typedef void (*gort_ffi_handler)(void* ret, void** args, void* userdata);
/** \brief Make a C function pointer with the signature that calls handler.
 * \param sig a signature of fixed arguments (a variadic one is EINVAL); the
 *        closure keeps its own reference: releasing the signature first is
 *        fine
 * \param handler called for every call of *code
 * \param userdata passed to handler
 * \param code gets the C function pointer
 * \return the closure, or NULL with errno set (EINVAL, ENOMEM) */
GORT_API gort_ffi_closure* gort_ffi_closure_make(gort_ffi_sig* sig, gort_ffi_handler handler,
                                                 void* userdata, void (**code)(void));
/** \brief Release a closure.
 *
 * Calls in progress finish first (the memory is freed after the last one
 * returns). *code must not be called afterwards: a call that still comes is
 * reported on stderr and returns a zeroed result instead of running the
 * handler, as long as the trampoline has not been reused by a later
 * closure (gort keeps the 4096 most recently released ones unused).
 * \param c the closure
 * \return #GORT_OK or #GORT_EINVAL */
GORT_API int gort_ffi_closure_release(gort_ffi_closure* c);

#ifdef __cplusplus
}
#endif

#endif /* GORT_FFI_H */
