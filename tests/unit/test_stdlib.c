/* test_stdlib.c — the native builtins, JSON parsing and type conversion,
 * called directly through a VM on an empty module (no compiler).
 *
 * Values are written as JSON text (J("[1,2]")) and results compared as
 * compact JSON, or as "ERR: message" when the native raised. Prints
 * TAP-style `ok N - desc` lines and exits non-zero if any check failed. */
#include "../../stdlib/builtins.h"
#include "../../vm/json.h"
#include "../../vm/module.h"
#include "../../vm/vm_impl.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static VM *vm;
static Module *mod;
static Fiber fib;
static Buf result;

/* ---- building values --------------------------------------------------- */

static Value J(const char *text) {
  char *err = NULL;
  Value v;
  if (!v_from_json(&vm->heap, text, strlen(text), &v, &err)) {
    diag("bad test JSON %s: %s", text, err);
    exit(2);
  }
  return v;
}

static Value S(const char *s) { return v_cstring(&vm->heap, s); }

/* Renders v (then releases it) into the shared result buffer. */
static const char *show(Value v) {
  result.len = 0;
  if (result.data) result.data[0] = '\0';
  char *why = NULL;
  if (!v_to_json(&result, v, &why)) buf_printf(&result, "UNRENDERABLE: %s", why);
  free(why);
  v_release(&vm->heap, v);
  return result.data;
}

/* Calls native `key` with args (taken), returns the result as JSON or
 * "ERR: message"; NATIVE_PARK gives "PARK". Resets the fiber after. */
static const char *run(const char *key, Value *args, int argc) {
  const Native *n = std_native_by_key(key);
  if (!n) { diag("no native %s", key); exit(2); }
  if (n->arity != argc) { diag("%s: arity %d, called with %d", key, n->arity, argc); exit(2); }
  Value out = v_none();
  NativeStatus st = n->fn(vm, &fib, args, argc, &out);
  for (int i = 0; i < argc; i++) v_release(&vm->heap, args[i]);
  if (st == NATIVE_OK) return show(out);
  result.len = 0;
  if (st == NATIVE_PARK) buf_puts(&result, "PARK");
  else buf_printf(&result, "ERR: %s", fib.error ? fib.error : "(no message)");
  free(fib.error);
  free(fib.error_trace);
  fib.error = fib.error_trace = NULL;
  fib.state = FIBER_RUNNING;
  vm->fuel = 0;   /* a failed charge uses up all fuel; each check starts fresh */
  return result.data;
}

#define CALL(key, ...) \
  run(key, (Value[]){__VA_ARGS__}, (int)(sizeof((Value[]){__VA_ARGS__}) / sizeof(Value)))

static const char *parse_err(const char *text, size_t len) {
  char *err = NULL;
  Value v;
  result.len = 0;
  if (v_from_json(&vm->heap, text, len, &v, &err)) {
    show(v);
    if (err) buf_puts(&result, " (and a message on success)");
  } else {
    buf_printf(&result, "ERR: %s", err ? err : "(no message)");
  }
  free(err);
  return result.data;
}

#define PE(text) parse_err(text, strlen(text))

/* ---- the table ------------------------------------------------------------ */

static void test_table(void) {
  bool good = std_nnatives > 50;
  for (uint32_t i = 0; i < std_nnatives; i++) {
    const Native *n = &std_natives[i];
    if (!n->name || !*n->name || !n->key || !n->sig || !n->fn || !n->doc || !*n->doc) good = false;
    if (std_native_by_key(n->key) != n) good = false;   /* keys unique */
    /* overloads adjacent: an earlier entry of this name must be the previous one */
    for (uint32_t j = 0; j + 1 < i; j++)
      if (strcmp(std_natives[j].name, n->name) == 0 && strcmp(std_natives[i - 1].name, n->name) != 0) good = false;
  }
  ok(good, "table: complete entries, unique keys, overloads listed together");
  ok(std_native_by_key("no.such") == NULL, "table: unknown key -> NULL");
}

/* ---- strings ------------------------------------------------------------- */

static void test_strings(void) {
  is_str(CALL("len.string", S("h\xc3\xa9llo")), "5", "len counts code points");
  is_str(CALL("split", S("a,b,,c"), S(",")), "[\"a\",\"b\",\"\",\"c\"]", "split keeps empty pieces");
  is_str(CALL("split", S(""), S(",")), "[\"\"]", "split of empty string");
  is_str(CALL("split", S("a--b--"), S("--")), "[\"a\",\"b\",\"\"]", "split multi-byte separator");
  is_str(CALL("split", S("abc"), S("")), "ERR: split: empty separator", "split empty separator");
  is_str(CALL("join", J("[\"a\",\"b\",\"c\"]"), S("-")), "\"a-b-c\"", "join");
  is_str(CALL("join", J("[]"), S("-")), "\"\"", "join of empty list");
  is_str(CALL("join", J("[\"a\",1]"), S("-")), "ERR: join: element 1 is a int, not a string", "join non-string");
  is_str(CALL("trim", S(" \t a b \n")), "\"a b\"", "trim");
  is_str(CALL("contains.string", S("hello"), S("ll")), "true", "contains");
  is_str(CALL("contains.string", S("hello"), S("")), "true", "contains empty");
  is_str(CALL("contains.string", S("aaaaaaaaab"), S("aaab")), "true", "contains with partial overlaps");
  is_str(CALL("contains.string", S("abab"), S("abc")), "false", "contains missing");
  is_str(CALL("starts_with", S("hello"), S("he")), "true", "starts_with");
  is_str(CALL("ends_with", S("hello"), S("lo")), "true", "ends_with");
  is_str(CALL("ends_with", S("lo"), S("hello")), "false", "ends_with longer suffix");
  is_str(CALL("replace", S("a.b.c"), S("."), S("::")), "\"a::b::c\"", "replace all");
  is_str(CALL("replace", S("aaaa"), S("aa"), S("b")), "\"bb\"", "replace non-overlapping");
  is_str(CALL("replace", S("abc"), S("x"), S("y")), "\"abc\"", "replace nothing");
  is_str(CALL("replace", S("abc"), S(""), S("y")), "ERR: replace: empty pattern", "replace empty pattern");
  is_str(CALL("upper", S("ab\xc3\xa9z")), "\"AB\xc3\xa9Z\"", "upper is ASCII only");
  is_str(CALL("lower", S("AB\xc3\x89Z")), "\"ab\xc3\x89z\"", "lower is ASCII only");
  is_str(CALL("slice.string", S("h\xc3\xa9llo"), v_int(1), v_int(3)), "\"\xc3\xa9l\"", "slice by code points");
  is_str(CALL("slice.string", S("abc"), v_int(3), v_int(3)), "\"\"", "empty slice at end");
  is_str(CALL("slice.string", S("abc"), v_int(1), v_int(4)),
         "ERR: slice: range [1, 4) out of bounds for a string of length 3", "slice past the end");
  is_str(CALL("slice.string", S("abc"), v_int(2), v_int(1)),
         "ERR: slice: range [2, 1) out of bounds for a string of length 3", "slice reversed");
  is_str(CALL("lines", S("a\r\nb\n")), "[\"a\",\"b\"]", "lines: CRLF, no empty last line");
  is_str(CALL("lines", S("a\n\nb")), "[\"a\",\"\",\"b\"]", "lines keeps inner empty line");
  is_str(CALL("lines", S("")), "[]", "lines of empty string");
  is_str(CALL("index_of", S("h\xc3\xa9llo"), S("l")), "2", "index_of in code points");
  is_str(CALL("index_of", S("hello"), S("z")), "null", "index_of missing");
  is_str(CALL("repeat", S("ab"), v_int(3)), "\"ababab\"", "repeat");
  is_str(CALL("repeat", S("ab"), v_int(-1)), "ERR: repeat: negative count -1", "repeat negative");
  is_str(CALL("repeat", S("ab"), v_int(INT64_MAX)), "ERR: memory limit (536870912 bytes) exceeded: repeat: result too large", "repeat overflow");
  is_prefix(CALL("repeat", S("abcd"), v_int(1000000000)), "ERR: memory limit", "repeat over the memory limit");
  is_str(CALL("chars", S("h\xc3\xa9")), "[\"h\",\"\xc3\xa9\"]", "chars");
}

/* ---- lists --------------------------------------------------------------- */

static void test_lists(void) {
  is_str(CALL("len.list", J("[1,2,3]")), "3", "len of list");
  is_str(CALL("sort", J("[3,1,2.5,-1]")), "[-1,1,2.5,3]", "sort mixed numbers");
  is_str(CALL("sort", J("[\"b\",\"a\",\"B\"]")), "[\"B\",\"a\",\"b\"]", "sort strings bytewise");
  is_str(CALL("sort", J("[]")), "[]", "sort empty");
  is_str(CALL("sort_by_keys", J("[\"a\",\"b\",\"c\",\"d\",\"e\"]"), J("[2,1,2,1,0]")),
         "[\"e\",\"b\",\"d\",\"a\",\"c\"]", "sort_by_keys is stable");
  is_str(CALL("sort_by_keys", J("[1,2]"), J("[1]")), "ERR: sort_by_keys: 2 elements but 1 keys",
         "sort_by_keys length mismatch");
  is_str(CALL("reverse", J("[1,2,3]")), "[3,2,1]", "reverse");
  is_str(CALL("zip", J("[1,2,3]"), J("[\"a\",\"b\"]")),
         "[{\"first\":1,\"second\":\"a\"},{\"first\":2,\"second\":\"b\"}]", "zip to the shorter");
  is_str(CALL("enumerate", J("[\"x\",\"y\"]")),
         "[{\"index\":0,\"value\":\"x\"},{\"index\":1,\"value\":\"y\"}]", "enumerate");
  is_str(CALL("flatten", J("[[1],[],[2,3]]")), "[1,2,3]", "flatten");
  is_str(CALL("take", J("[1,2,3]"), v_int(2)), "[1,2]", "take");
  is_str(CALL("take", J("[1,2,3]"), v_int(10)), "[1,2,3]", "take more than length");
  is_str(CALL("take", J("[1]"), v_int(-1)), "ERR: take: negative count -1", "take negative");
  is_str(CALL("drop", J("[1,2,3]"), v_int(2)), "[3]", "drop");
  is_str(CALL("drop", J("[1,2,3]"), v_int(5)), "[]", "drop more than length");
  is_str(CALL("unique", J("[1,1.0,2,\"a\",\"a\",[1],[1],{\"k\":1},{\"k\":1},null,null]")),
         "[1,2,\"a\",[1],{\"k\":1},null]", "unique keeps first, structural equality");
  is_str(CALL("range.1", v_int(3)), "[0,1,2]", "range(n)");
  is_str(CALL("range.1", v_int(-3)), "[]", "range of negative");
  is_str(CALL("range.2", v_int(2), v_int(5)), "[2,3,4]", "range(a, b)");
  is_str(CALL("range.2", v_int(5), v_int(2)), "[]", "range reversed is empty");
  is_prefix(CALL("range.2", v_int(INT64_MIN), v_int(INT64_MAX)), "ERR: memory limit (536870912 bytes) exceeded: range: ", "huge range");
  is_prefix(CALL("range.1", v_int(4000000000LL)), "ERR: ", "range over the list limit");
  is_str(CALL("contains.list", J("[1,[2],\"x\"]"), J("[2]")), "true", "contains on list");
  is_str(CALL("contains.list", J("[1,2]"), J("3")), "false", "contains missing on list");
  is_str(CALL("slice.list", J("[1,2,3,4]"), v_int(1), v_int(3)), "[2,3]", "slice list");
  is_str(CALL("slice.list", J("[1]"), v_int(-1), v_int(1)),
         "ERR: slice: range [-1, 1) out of bounds for a list of length 1", "slice list negative");
  is_str(CALL("sum.int", J("[1,2,3]")), "6", "sum ints");
  is_str(CALL("sum.int", J("[9223372036854775807,1]")), "ERR: integer overflow in sum", "sum overflow");
  is_str(CALL("sum.float", J("[0.5,0.25]")), "0.75", "sum floats");
  is_str(CALL("sum.float", J("[]")), "0.0", "sum of no floats");
}

/* ---- maps ---------------------------------------------------------------- */

static void test_maps(void) {
  is_str(CALL("len.map", J("{\"a\":1,\"b\":2}")), "2", "len of map");
  is_str(CALL("keys", J("{\"z\":1,\"a\":2}")), "[\"z\",\"a\"]", "keys in insertion order");
  is_str(CALL("values", J("{\"z\":1,\"a\":2}")), "[1,2]", "values in insertion order");
  is_str(CALL("get", J("{\"a\":1}"), S("a")), "1", "get present");
  is_str(CALL("get", J("{\"a\":1}"), S("b")), "null", "get absent");
  is_str(CALL("has", J("{\"a\":1}"), S("a")), "true", "has");
  Value m = J("{\"a\":1}");
  is_str(CALL("set", v_retain(m), S("b"), v_int(2)), "{\"a\":1,\"b\":2}", "set adds");
  is_str(CALL("set", v_retain(m), S("a"), v_int(5)), "{\"a\":5}", "set replaces");
  is_str(CALL("remove", v_retain(m), S("a")), "{}", "remove");
  is_str(CALL("remove", v_retain(m), S("zz")), "{\"a\":1}", "remove absent");
  is_str(show(m), "{\"a\":1}", "original map unchanged");
}

/* ---- json ---------------------------------------------------------------- */

static void test_json(void) {
  is_str(CALL("json_parse", S("[1, -0, 1.0, 1e2, -9223372036854775808, 9223372036854775807]")),
         "[1,0,1.0,100.0,-9223372036854775808,9223372036854775807]", "numbers: ints stay ints");
  Value big = J("[9223372036854775808, 123456789012345678901234567890]");
  ok(AS_LIST(big)->items[0].tag == V_FLOAT && AS_LIST(big)->items[1].tag == V_FLOAT,
     "integers beyond int64 become floats");
  v_release(&vm->heap, big);
  is_str(parse_err("1e400", 5), "ERR: invalid JSON at line 1, column 1: number out of range", "1e400");
  is_str(parse_err("{\"a\": [1, 2], \"b\": {\"c\": null, \"d\": true}}", 42),
         "{\"a\":[1,2],\"b\":{\"c\":null,\"d\":true}}", "nested document");
  is_str(parse_err("{\"a\":1,\"b\":2,\"a\":3}", 19), "{\"a\":3,\"b\":2}", "repeated key: last value wins");
  is_str(parse_err("\"a\\u0000b\"", 10), "\"a\\u0000b\"", "\\u0000 kept inside the string");
  is_str(PE("\"\\ud83d\\ude00 \\u00e9\\n\\\"\""), "\"\xf0\x9f\x98\x80 \xc3\xa9\\n\\\"\"", "escapes and surrogate pairs");
  is_prefix(parse_err("\"\\ud83d\"", 8), "ERR: invalid JSON", "lone surrogate rejected");
  is_str(PE("[1] x"), "ERR: invalid JSON at line 1, column 5: unexpected text after the value",
         "trailing text");
  is_str(parse_err("", 0), "ERR: invalid JSON at line 1, column 1: unexpected end of input", "empty input");
  is_str(parse_err("[1,", 3), "ERR: invalid JSON at line 1, column 4: unexpected end of input", "truncated");
  is_str(PE("{\n  \"a\": tru\n}"), "ERR: invalid JSON at line 2, column 8: unexpected character 't'", "line numbers");
  is_str(PE("[1, }"), "ERR: invalid JSON at line 1, column 5: unexpected character '}'", "wrong closer");
  is_str(PE("{\"a\" 1}"), "ERR: invalid JSON at line 1, column 6: unexpected character '1'", "missing colon");
  is_str(PE("\"abc"), "ERR: invalid JSON at line 1, column 5: unexpected end of input", "unterminated string");
  is_str(PE("[01]"), "ERR: invalid JSON at line 1, column 2: invalid number", "leading zero");
  is_str(PE("[1.]"), "ERR: invalid JSON at line 1, column 2: invalid number", "dot without digits");
  is_str(PE("-"), "ERR: invalid JSON at line 1, column 1: invalid number", "lone minus");
  is_str(PE("[-0.5e+3, 0, 2E-2]"), "[-500.0,0,0.02]", "valid number forms");
  is_str(parse_err("\"\xff\"", 3), "ERR: invalid JSON at line 1, column 2: invalid UTF-8", "invalid UTF-8");
  is_str(parse_err("\"\xc0\xaf\"", 4), "ERR: invalid JSON at line 1, column 2: invalid UTF-8", "overlong UTF-8");
  is_str(parse_err("\"a\nb\"", 5), "ERR: invalid JSON at line 1, column 3: control character in string (escape it)",
         "raw newline in string");
  is_str(parse_err("[1]\0", 4), "ERR: invalid JSON at line 1, column 4: unexpected control character", "NUL byte");
  is_str(parse_err("\xEF\xBB\xBF[1]", 6), "[1]", "BOM skipped");

  /* deep nesting: a clean error, never the C stack */
  size_t n = 100000;
  char *deep = malloc(2 * n);
  memset(deep, '[', n);
  memset(deep + n, ']', n);
  is_str(parse_err(deep, 2 * n), "ERR: invalid JSON at line 1, column 501: nested more than 500 levels deep",
         "100000 nested arrays");
  {
    Buf want;
    buf_init(&want);
    for (int i = 0; i < 500; i++) buf_putc(&want, '[');
    for (int i = 0; i < 500; i++) buf_putc(&want, ']');
    is_str(parse_err(deep + n - 500, 1000), want.data, "500 levels is fine");
    buf_free(&want);
  }
  memset(deep, '{', n);
  is_prefix(parse_err(deep, n), "ERR: invalid JSON at line 1, column 501: nested", "deep objects");
  free(deep);

  /* a valid number of any length is read, as a float */
  char num[120];
  memset(num, '1', 100);
  is_str(parse_err(num, 100), "1.111111111111111e+99", "100-digit number");

  /* 1 MB string */
  size_t big_n = 1 << 20;
  char *bigs = malloc(big_n + 2);
  bigs[0] = '"';
  memset(bigs + 1, 'x', big_n);
  bigs[big_n + 1] = '"';
  Value v;
  bool good = v_from_json(&vm->heap, bigs, big_n + 2, &v, NULL);
  ok(good && v_is(v, OBJ_STRING) && AS_STRING(v)->len == big_n, "1 MB string");
  if (good) v_release(&vm->heap, v);
  free(bigs);
  ok(!v_from_json(&vm->heap, "[1,", 3, &v, NULL), "a failure without err wanted reports only false");

  is_str(CALL("json_parse", S("[1,")),
         "ERR: json_parse: invalid JSON at line 1, column 4: unexpected end of input", "json_parse native error");
  is_str(CALL("to_json", J("{\"a\":[1,\"x\",null]}")), "\"{\\\"a\\\":[1,\\\"x\\\",null]}\"", "to_json");
  is_str(CALL("to_json", v_duration(1500)), "\"\\\"1.5s\\\"\"", "to_json of a duration");
  is_str(CALL("str", S("x")), "\"x\"", "str of a string is itself");
  is_str(CALL("str", J("[1,\"a\"]")), "\"[1,\\\"a\\\"]\"", "str of a list");
  is_str(CALL("str", v_float(NAN)), "ERR: cannot render NaN as JSON", "str of NaN");

  /* one string shared 2000 times would render to 2 GB: refused up front */
  Value s = v_string(&vm->heap, NULL, 0);
  v_release(&vm->heap, s);
  ObjString *mb = str_alloc(&vm->heap, 1 << 20);
  memset(mb->data, 'y', 1 << 20);
  Value list = v_list(&vm->heap, 2000);
  for (int i = 0; i < 2000; i++) {
    mb->h.rc++;
    AS_LIST(list)->items[AS_LIST(list)->n++] = v_obj(&mb->h);
  }
  v_release(&vm->heap, v_obj(&mb->h));
  is_prefix(CALL("to_json", list), "ERR: ", "to_json of shared 2 GB output is refused");

  is_str(CALL("parse_int", S(" 42 ")), "42", "parse_int trims");
  is_str(CALL("parse_int", S("+5")), "5", "parse_int plus sign");
  is_str(CALL("parse_int", S("-9223372036854775808")), "-9223372036854775808", "parse_int minimum");
  is_str(CALL("parse_int", S("9223372036854775808")), "null", "parse_int overflow");
  is_str(CALL("parse_int", S("4x")), "null", "parse_int junk");
  is_str(CALL("parse_int", S("")), "null", "parse_int empty");
  is_str(CALL("parse_int", S("-")), "null", "parse_int sign only");
  is_str(CALL("parse_float", S("3.5")), "3.5", "parse_float");
  is_str(CALL("parse_float", S("1e3")), "1000.0", "parse_float exponent");
  is_str(CALL("parse_float", S(".5")), "0.5", "parse_float leading dot");
  is_str(CALL("parse_float", S("7")), "7.0", "parse_float integer text");
  is_str(CALL("parse_float", S("nan")), "null", "parse_float nan");
  is_str(CALL("parse_float", S("inf")), "null", "parse_float inf");
  is_str(CALL("parse_float", S("1e400")), "null", "parse_float overflow");
  is_str(CALL("parse_float", S("0x10")), "null", "parse_float hex");
  is_str(CALL("parse_float", S("1e")), "null", "parse_float bad exponent");
}

/* ---- math ---------------------------------------------------------------- */

static void test_math(void) {
  is_str(CALL("to_float", v_int(3)), "3.0", "to_float");
  is_str(CALL("to_int", v_float(3.9)), "3", "to_int truncates");
  is_str(CALL("to_int", v_float(-3.9)), "-3", "to_int truncates toward zero");
  is_str(CALL("to_int", v_float(NAN)), "ERR: to_int: NaN has no integer value", "to_int NaN");
  is_str(CALL("to_int", v_float(1e19)), "ERR: to_int: 1e+19 is out of the int range", "to_int too big");
  is_str(CALL("to_int", v_float(INFINITY)), "ERR: to_int: inf is out of the int range", "to_int inf");
  is_str(CALL("abs.int", v_int(-4)), "4", "abs int");
  is_str(CALL("abs.int", v_int(INT64_MIN)), "ERR: integer overflow in abs", "abs of INT64_MIN");
  is_str(CALL("abs.float", v_float(-2.5)), "2.5", "abs float");
  is_str(CALL("min.int", v_int(3), v_int(-1)), "-1", "min int");
  is_str(CALL("max.float", v_float(1.5), v_float(2.5)), "2.5", "max float");
  is_str(CALL("max.duration", v_duration(1000), v_duration(250)), "\"1s\"", "max duration");
  is_str(CALL("min.duration", v_duration(1000), v_duration(250)), "\"250ms\"", "min duration");
  is_str(CALL("clamp.int", v_int(15), v_int(0), v_int(10)), "10", "clamp int");
  is_str(CALL("clamp.int", v_int(1), v_int(5), v_int(0)), "ERR: clamp: lower bound 5 is above upper bound 0",
         "clamp bad bounds");
  is_str(CALL("floor", v_float(-1.5)), "-2", "floor");
  is_str(CALL("ceil", v_float(1.2)), "2", "ceil");
  is_str(CALL("round", v_float(2.5)), "3", "round half away from zero");
  is_str(CALL("round", v_float(-2.5)), "-3", "round negative half");
  is_str(CALL("sqrt", v_float(9)), "3.0", "sqrt");
  is_str(CALL("sqrt", v_float(-1)), "ERR: sqrt: negative argument -1", "sqrt negative");
  is_str(CALL("pow", v_float(2), v_float(10)), "1024.0", "pow");
  is_str(CALL("pow", v_float(10), v_float(400)), "ERR: pow: 10 ** 400 is not a finite number", "pow overflow");
}

/* ---- effects ------------------------------------------------------------- */

static void test_effects(void) {
  FILE *tmp = tmpfile();
  FILE *saved = vm->out;
  vm->out = tmp;
  CALL("print", S("hello"));
  CALL("print", J("{\"a\":[1,\"b\"]}"));
  vm->out = saved;
  char text[64] = {0};
  rewind(tmp);
  size_t got = fread(text, 1, sizeof text - 1, tmp);
  fclose(tmp);
  text[got] = '\0';
  is_str(text, "hello\n{\"a\":[1,\"b\"]}\n", "print writes display form and newline");
  is_str(CALL("fail", S("stop here")), "ERR: stop here", "fail raises its message");
  is_str(CALL("sleep", v_duration(-1)), "ERR: sleep: negative duration", "sleep negative");
  is_str(CALL("len.string", v_int(3)), "ERR: len: argument 1 must be a string, got int",
         "natives check their argument types");
}

/* ---- conversion ---------------------------------------------------------- */

static uint32_t t_string, t_int, t_float, t_dur, t_sev, t_opt_str, t_item, t_items, t_tags, t_report;

static uint32_t add_simple(TypeDescKind k, uint32_t elem) {
  TypeDesc td;
  memset(&td, 0, sizeof td);
  td.kind = (uint8_t)k;
  td.elem = elem;
  td.doc = td.name = NO_INDEX;
  return module_add_type(mod, &td);
}

static void build_types(void) {
  t_string = add_simple(TD_STRING, 0);
  t_int = add_simple(TD_INT, 0);
  t_float = add_simple(TD_FLOAT, 0);
  t_dur = add_simple(TD_DURATION, 0);
  uint32_t members[3] = {module_add_string(mod, "low", 3), module_add_string(mod, "medium", 6),
                         module_add_string(mod, "high", 4)};
  TypeDesc td;
  memset(&td, 0, sizeof td);
  td.kind = TD_ENUM;
  td.n = 3;
  td.members = members;
  td.doc = td.name = NO_INDEX;
  t_sev = module_add_type(mod, &td);
  t_opt_str = add_simple(TD_OPTIONAL, t_string);
  TypeField item_fields[2] = {
      {module_add_string(mod, "severity", 8), t_sev, NO_INDEX},
      {module_add_string(mod, "note", 4), t_opt_str, NO_INDEX},
  };
  memset(&td, 0, sizeof td);
  td.kind = TD_RECORD;
  td.n = 2;
  td.fields = item_fields;
  td.doc = td.name = NO_INDEX;
  t_item = module_add_type(mod, &td);
  t_items = add_simple(TD_LIST, t_item);
  t_tags = add_simple(TD_MAP, t_int);
  TypeField report_fields[2] = {
      {module_add_string(mod, "items", 5), t_items, NO_INDEX},
      {module_add_string(mod, "tags", 4), t_tags, NO_INDEX},
  };
  td.n = 2;
  td.fields = report_fields;
  td.name = module_add_string(mod, "Report", 6);
  t_report = module_add_type(mod, &td);
}

static const char *convert(uint32_t td, Value v) {
  char *err = NULL;
  Value out;
  bool good = v_convert(&vm->heap, mod, td, v, &out, &err);
  v_release(&vm->heap, v);
  if (good) {
    bool rec = v_is(out, OBJ_RECORD);
    show(out);
    if (rec) {
      Buf t;
      buf_init(&t);
      buf_printf(&t, "record %s", result.data);
      result.len = 0;
      buf_put(&result, t.data, t.len);
      buf_free(&t);
    }
  } else {
    result.len = 0;
    buf_printf(&result, "ERR: %s", err ? err : "(no message)");
  }
  if (good && err) buf_puts(&result, " (and a message on success)");
  free(err);
  return result.data;
}

static void test_convert(void) {
  build_types();
  is_str(convert(t_report, J("{\"items\":[{\"severity\":\"low\",\"note\":\"n\"},{\"severity\":\"high\"}],\"tags\":{\"k\":1}}")),
         "record {\"items\":[{\"severity\":\"low\",\"note\":\"n\"},{\"severity\":\"high\",\"note\":null}],\"tags\":{\"k\":1}}",
         "convert a nested record; absent optional is none");
  is_str(convert(t_report, J("{\"items\":[{\"severity\":\"low\"},{\"severity\":\"low\"},{\"severity\":\"low\"},"
                                "{\"severity\":\"urgent\"}],\"tags\":{}}")),
         "ERR: $.items[3].severity: expected \"low\" | \"medium\" | \"high\", got \"urgent\"", "enum mismatch path");
  is_str(convert(t_report, J("{\"items\":[{}],\"tags\":{}}")), "ERR: $.items[0]: missing field \"severity\"",
         "missing field");
  is_str(convert(t_report, J("{\"items\":[],\"tags\":{},\"extra\":1}")), "ERR: $: unexpected field \"extra\"",
         "unexpected field");
  is_str(convert(t_report, J("{\"items\":[],\"tags\":{\"a b\":\"v\"}}")),
         "ERR: $.tags[\"a b\"]: expected int, got \"v\"", "map element path");
  is_str(convert(t_report, J("[]")), "ERR: $: expected Report, got []", "named record printed by name");
  is_str(convert(t_items, J("{\"severity\":\"low\"}")),
         "ERR: $: expected list[{ severity: \"low\" | \"medium\" | \"high\", note: string? }], got {\"severity\":\"low\"}",
         "anonymous record printed in full");
  is_str(convert(t_int, J("3.5")), "ERR: $: expected int, got 3.5", "float is not an int");
  is_str(convert(t_int, J("3.0")), "ERR: $: expected int, got 3.0", "integral float is not an int either");
  is_str(convert(t_int, J("null")), "ERR: $: expected int, got null", "null is not an int");
  is_str(convert(t_float, J("3")), "3.0", "int converts to float");
  is_str(convert(t_opt_str, J("null")), "null", "none for an optional");
  is_str(convert(t_opt_str, J("1")), "ERR: $: expected string, got 1", "optional's inner type named");
  is_str(convert(t_dur, S("1m30s")), "\"1m30s\"", "duration from text");
  is_str(convert(t_dur, S("1.5s")), "\"1.5s\"", "duration with a fraction");
  is_str(convert(t_dur, S("250ms")), "\"250ms\"", "duration in ms");
  is_str(convert(t_dur, S("soon")), "ERR: $: expected duration, got \"soon\"", "bad duration");
  char longs[300];
  memset(longs, 'z', 200);
  longs[200] = '\0';
  Buf want;
  buf_init(&want);
  buf_puts(&want, "ERR: $: expected int, got \"");
  buf_put(&want, longs, 59);
  buf_puts(&want, "…");
  is_str(convert(t_int, S(longs)), want.data, "long values are truncated with an ellipsis");
  buf_free(&want);
  Value list = J("[\"a\",\"b\"]");
  Value out;
  char *err = NULL;
  uint32_t t_strs = add_simple(TD_LIST, t_string);
  ok(v_convert(&vm->heap, mod, t_strs, list, &out, &err) && out.as.o == list.as.o && !err,
     "unchanged list is shared, not copied (and no message)");
  v_release(&vm->heap, out);
  v_release(&vm->heap, list);
  Buf b;
  buf_init(&b);
  type_desc_print(&b, mod, add_simple(TD_OPTIONAL, t_sev));
  is_str(b.data, "(\"low\" | \"medium\" | \"high\")?", "optional union printed with parentheses");
  buf_free(&b);
}

/* Budgets live in the heap, so --max-memory sees a program's budget blocks. */
static void test_budget_counted(void) {
  size_t before = vm->heap.used;
  Budget *b = budget_new(vm, NULL, 0, 0, 0, 0, 0, "main/budget@3");
  ok(vm->heap.used >= before + sizeof *b, "a budget is counted in the heap");
  budget_release(vm, b);
  ok(vm->heap.used == before, "and given back when released");
}

int main(void) {
  Heap mheap;
  heap_init(&mheap, 0);
  mod = module_new(&mheap);
  Limits lim = {0};
  lim.max_memory = 512u << 20;
  vm = vm_new(mod, &lim);
  memset(&fib, 0, sizeof fib);
  fib.state = FIBER_RUNNING;
  buf_init(&result);

  test_table();
  test_strings();
  test_lists();
  test_maps();
  test_json();
  test_math();
  test_effects();
  test_convert();
  test_budget_counted();

  buf_free(&result);
  size_t leaked = vm->heap.used;
  vm_free(vm);
  module_free(mod);
  ok(leaked == 0, "every value released (VM heap back to zero)");
  if (leaked) diag("  %zu bytes still allocated", leaked);
  return tap_done();
}
