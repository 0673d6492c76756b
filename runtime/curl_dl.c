/* curl_dl.c — loads libcurl on first use (see curl_dl.h for why). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include "curl_dl.h"
#include "../base/util.h"

#include <dlfcn.h>
#include <stddef.h>

CurlApi curl_api;
static bool loaded;

/* dlsym returns void *; ISO C has no conversion from object to function
 * pointers, so the address is copied bytewise (what POSIX guarantees). */
static bool sym(void *lib, const char *name, void *slot, size_t size) {
  void *p = dlsym(lib, name);
  if (!p) return false;
  __builtin_memcpy(slot, &p, size);
  return true;
}

static bool fail(char **err, const char *msg) {
  if (err) *err = xstrdup(msg);
  return false;
}

bool curl_dl_load(char **err) {
  if (loaded) return true;
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fail(err, "cannot load libcurl (libcurl.so.4; Debian: apt-get install libcurl4)");
#define SYM(field, name) \
  if (!sym(lib, name, &curl_api.field, sizeof curl_api.field)) { \
    dlclose(lib); \
    return fail(err, "libcurl lacks " name " (libcurl 7.66 or newer is needed)"); \
  }
  SYM(global_init, "curl_global_init")
  SYM(global_cleanup, "curl_global_cleanup")
  SYM(easy_init, "curl_easy_init")
  SYM(easy_cleanup, "curl_easy_cleanup")
  SYM(easy_setopt, "curl_easy_setopt")
  SYM(easy_getinfo, "curl_easy_getinfo")
  SYM(easy_strerror, "curl_easy_strerror")
  SYM(multi_init, "curl_multi_init")
  SYM(multi_cleanup, "curl_multi_cleanup")
  SYM(multi_setopt, "curl_multi_setopt")
  SYM(multi_add_handle, "curl_multi_add_handle")
  SYM(multi_remove_handle, "curl_multi_remove_handle")
  SYM(multi_socket_action, "curl_multi_socket_action")
  SYM(multi_info_read, "curl_multi_info_read")
  SYM(multi_strerror, "curl_multi_strerror")
  SYM(slist_append, "curl_slist_append")
  SYM(slist_free_all, "curl_slist_free_all")
  SYM(url, "curl_url")
  SYM(url_cleanup, "curl_url_cleanup")
  SYM(url_set, "curl_url_set")
  SYM(url_get, "curl_url_get")
  SYM(free, "curl_free")
#undef SYM
  loaded = true; /* the library stays mapped for the life of the process */
  return true;
}
