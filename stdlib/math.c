/* math.c — numeric natives.
 *
 * Integers never wrap: every operation that could leave int64 (abs of the
 * minimum, float -> int of a huge value) is a runtime error, as for the
 * arithmetic opcodes. Float results that stop being finite from finite
 * inputs (pow overflow) are errors too, since NaN and infinity have no
 * JSON form and would only fail later, far from the cause. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "std_internal.h"

NativeStatus std_to_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t i;
  if (!std_arg_int(vm, f, args, 0, "to_float", &i)) return NATIVE_ERROR;
  *out = v_float((double)i);
  return NATIVE_OK;
}

/* A float that is already integral, as an int64, or an error naming fn. */
static NativeStatus float_to_int(VM *vm, Fiber *f, const char *fn, double x, Value *out) {
  if (isnan(x)) return vm_raise(vm, f, "%s: NaN has no integer value", fn);
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    return vm_raise(vm, f, "%s: %g is out of the int range", fn, x);
  *out = v_int((int64_t)x);
  return NATIVE_OK;
}

NativeStatus std_to_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "to_int", &x)) return NATIVE_ERROR;
  return float_to_int(vm, f, "to_int", trunc(x), out);
}

NativeStatus std_floor(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "floor", &x)) return NATIVE_ERROR;
  return float_to_int(vm, f, "floor", floor(x), out);
}

NativeStatus std_ceil(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "ceil", &x)) return NATIVE_ERROR;
  return float_to_int(vm, f, "ceil", ceil(x), out);
}

NativeStatus std_round(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "round", &x)) return NATIVE_ERROR;
  return float_to_int(vm, f, "round", round(x), out);
}

NativeStatus std_abs_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t i;
  if (!std_arg_int(vm, f, args, 0, "abs", &i)) return NATIVE_ERROR;
  if (i == INT64_MIN) return vm_raise(vm, f, "integer overflow in abs");
  *out = v_int(i < 0 ? -i : i);
  return NATIVE_OK;
}

NativeStatus std_abs_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "abs", &x)) return NATIVE_ERROR;
  *out = v_float(fabs(x));
  return NATIVE_OK;
}

/* min/max: on a tie the first argument wins; a NaN argument gives NaN. */
static NativeStatus min_max_int(VM *vm, Fiber *f, const Value *args, bool is_max, bool dur, Value *out) {
  const char *fn = is_max ? "max" : "min";
  int64_t a, b;
  if (dur) {
    if (!std_arg_duration(vm, f, args, 0, fn, &a) || !std_arg_duration(vm, f, args, 1, fn, &b))
      return NATIVE_ERROR;
  } else if (!std_arg_int(vm, f, args, 0, fn, &a) || !std_arg_int(vm, f, args, 1, fn, &b)) {
    return NATIVE_ERROR;
  }
  int64_t r = (is_max ? b > a : b < a) ? b : a;
  *out = dur ? v_duration(r) : v_int(r);
  return NATIVE_OK;
}

static NativeStatus min_max_float(VM *vm, Fiber *f, const Value *args, bool is_max, Value *out) {
  const char *fn = is_max ? "max" : "min";
  double a, b;
  if (!std_arg_float(vm, f, args, 0, fn, &a) || !std_arg_float(vm, f, args, 1, fn, &b))
    return NATIVE_ERROR;
  double r = isnan(a) || isnan(b) ? NAN : (is_max ? b > a : b < a) ? b : a;
  *out = v_float(r);
  return NATIVE_OK;
}

NativeStatus std_min_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_int(vm, f, args, false, false, out);
}
NativeStatus std_max_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_int(vm, f, args, true, false, out);
}
NativeStatus std_min_duration(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_int(vm, f, args, false, true, out);
}
NativeStatus std_max_duration(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_int(vm, f, args, true, true, out);
}
NativeStatus std_min_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_float(vm, f, args, false, out);
}
NativeStatus std_max_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  return min_max_float(vm, f, args, true, out);
}

NativeStatus std_clamp_int(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  int64_t x, lo, hi;
  if (!std_arg_int(vm, f, args, 0, "clamp", &x) || !std_arg_int(vm, f, args, 1, "clamp", &lo) ||
      !std_arg_int(vm, f, args, 2, "clamp", &hi))
    return NATIVE_ERROR;
  if (lo > hi) return vm_raise(vm, f, "clamp: lower bound %lld is above upper bound %lld", (long long)lo, (long long)hi);
  *out = v_int(x < lo ? lo : x > hi ? hi : x);
  return NATIVE_OK;
}

NativeStatus std_clamp_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x, lo, hi;
  if (!std_arg_float(vm, f, args, 0, "clamp", &x) || !std_arg_float(vm, f, args, 1, "clamp", &lo) ||
      !std_arg_float(vm, f, args, 2, "clamp", &hi))
    return NATIVE_ERROR;
  if (!(lo <= hi)) return vm_raise(vm, f, "clamp: lower bound %g is above upper bound %g", lo, hi);
  *out = v_float(x < lo ? lo : x > hi ? hi : x);
  return NATIVE_OK;
}

NativeStatus std_sqrt(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  if (!std_arg_float(vm, f, args, 0, "sqrt", &x)) return NATIVE_ERROR;
  if (x < 0) return vm_raise(vm, f, "sqrt: negative argument %g", x);
  *out = v_float(sqrt(x));
  return NATIVE_OK;
}

NativeStatus std_pow(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x, y;
  if (!std_arg_float(vm, f, args, 0, "pow", &x) || !std_arg_float(vm, f, args, 1, "pow", &y))
    return NATIVE_ERROR;
  double r = pow(x, y);
  if (!isfinite(r) && isfinite(x) && isfinite(y))
    return vm_raise(vm, f, "pow: %g ** %g is not a finite number", x, y);
  *out = v_float(r);
  return NATIVE_OK;
}

/* format_float(x, digits): x with exactly `digits` digits after the point
 * (at most FORMAT_MAX_DIGITS; more are capped), rounded half away from
 * zero as round() is. The rounding is done on the exact decimal expansion
 * of the double (every double has one, at most 1074 fractional digits), so
 * it does not depend on the C library's rounding of ties: 2.5 gives "3",
 * and 2.675, stored as 2.67499999..., gives "2.67". A result whose digits
 * are all zero has no sign ("-0.00" would say nothing a reader can use).
 * NaN and infinity have no decimal form: an error, as in to_json. */
#define FORMAT_MAX_DIGITS 20
#define EXACT_DIGITS 1074

NativeStatus std_format_float(VM *vm, Fiber *f, const Value *args, int argc, Value *out) {
  (void)argc;
  double x;
  int64_t digits;
  if (!std_arg_float(vm, f, args, 0, "format_float", &x) ||
      !std_arg_int(vm, f, args, 1, "format_float", &digits))
    return NATIVE_ERROR;
  if (isnan(x)) return vm_raise(vm, f, "format_float: NaN has no decimal form");
  if (isinf(x)) return vm_raise(vm, f, "format_float: infinity has no decimal form");
  if (digits < 0) return vm_raise(vm, f, "format_float: negative digits %lld", (long long)digits);
  if (digits > FORMAT_MAX_DIGITS) digits = FORMAT_MAX_DIGITS;
  /* 309 integer digits, point, fraction, NUL */
  char exact[309 + 1 + EXACT_DIGITS + 1];
  /* sign, carry digit, 309 integer digits, point, fraction */
  char res[1 + 1 + 309 + 1 + FORMAT_MAX_DIGITS];
  if (!std_charge(vm, f, 1, sizeof exact)) return NATIVE_ERROR;
  int len = snprintf(exact, sizeof exact, "%.*f", EXACT_DIGITS, fabs(x));
  const char *point = len > 0 && (size_t)len < sizeof exact ? strchr(exact, '.') : NULL;
  if (!point) return vm_raise(vm, f, "format_float: cannot format %g", x);
  size_t keep = (size_t)(point - exact) + (digits ? 1 + (size_t)digits : 0);
  /* the kept digits after a 0 for a carry; rounded up when the rest is at
   * least half a unit of the last kept digit (half away from zero) */
  char *num = res + 1;
  num[0] = '0';
  memcpy(num + 1, exact, keep);
  size_t nlen = 1 + keep;
  if (point[1 + digits] >= '5') {
    for (size_t i = nlen; i-- > 0;) {
      if (num[i] == '.') continue;
      if (num[i] != '9') {
        num[i]++;
        break;
      }
      num[i] = '0';
    }
  }
  if (num[0] == '0') { /* no carry */
    num++;
    nlen--;
  }
  bool zero = true;
  for (size_t i = 0; i < nlen; i++)
    if (num[i] != '0' && num[i] != '.') zero = false;
  if (signbit(x) && !zero) {
    *--num = '-';
    nlen++;
  }
  if (!vm_check_alloc(vm, f, nlen + sizeof(ObjString))) return NATIVE_ERROR;
  *out = v_string(&vm->heap, num, nlen);
  return NATIVE_OK;
}
