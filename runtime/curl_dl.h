/* curl_dl.h — libcurl, loaded on the first network call.
 *
 * Linking libcurl directly makes every `weft` process resolve libcurl and
 * the ~30 libraries it pulls in (TLS, HTTP/2, Kerberos, LDAP, ...) at
 * start-up: about 5 ms, more than the whole run of a program that never
 * talks to a network (every offline run, every `weft check`). So the
 * engine reaches libcurl through this table, filled by dlopen the first
 * time a call needs the network. Including this header after
 * <curl/curl.h> maps the curl_* names the engine uses onto the table, so
 * engine.c reads like ordinary libcurl code. */
#ifndef WEFT_CURL_DL_H
#define WEFT_CURL_DL_H

#include <stdbool.h>
#include <curl/curl.h>

typedef struct CurlApi {
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)(void);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *h);
  CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
  CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
  const char *(*easy_strerror)(CURLcode code);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *m);
  CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
  CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
  CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
  CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev_bitmask, int *running);
  CURLMsg *(*multi_info_read)(CURLM *m, int *left);
  const char *(*multi_strerror)(CURLMcode code);
  struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
  void (*slist_free_all)(struct curl_slist *l);
  /* the URL API: std/http parses with libcurl's own parser (fetch.c) */
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *u);
  CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
  CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
  void (*free)(void *p);
} CurlApi;

/* The loaded table. Process-wide by nature (it describes a shared library
 * mapped into the process), written once under curl_dl_load. */
extern CurlApi curl_api;

/* Loads libcurl (libcurl.so.4) once. false + *err (malloc'd, when err is
 * not NULL) when it cannot be loaded or lacks a symbol. */
bool curl_dl_load(char **err);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init (*curl_api.global_init)
#define curl_global_cleanup (*curl_api.global_cleanup)
#define curl_easy_init (*curl_api.easy_init)
#define curl_easy_cleanup (*curl_api.easy_cleanup)
#define curl_easy_setopt (*curl_api.easy_setopt)
#define curl_easy_getinfo (*curl_api.easy_getinfo)
#define curl_easy_strerror (*curl_api.easy_strerror)
#define curl_multi_init (*curl_api.multi_init)
#define curl_multi_cleanup (*curl_api.multi_cleanup)
#define curl_multi_setopt (*curl_api.multi_setopt)
#define curl_multi_add_handle (*curl_api.multi_add_handle)
#define curl_multi_remove_handle (*curl_api.multi_remove_handle)
#define curl_multi_socket_action (*curl_api.multi_socket_action)
#define curl_multi_info_read (*curl_api.multi_info_read)
#define curl_multi_strerror (*curl_api.multi_strerror)
#define curl_slist_append (*curl_api.slist_append)
#define curl_slist_free_all (*curl_api.slist_free_all)
#define curl_url (*curl_api.url)
#define curl_url_cleanup (*curl_api.url_cleanup)
#define curl_url_set (*curl_api.url_set)
#define curl_url_get (*curl_api.url_get)
#define curl_free (*curl_api.free)

#endif
