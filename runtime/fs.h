/* fs.h — the file operations of std/fs (fs.read, fs.list, fs.glob,
 * fs.exists, fs.write): rows of the capability table (caps.c). Every path
 * goes through grants_open, so what a program can touch is what the grants
 * say and nothing on the way is a symbolic link. Each completes inside
 * start: a local file never waits long enough to need the loop. */
#ifndef WEFT_FS_H
#define WEFT_FS_H

#include "caps.h"

/* The most bytes fs.read returns and fs.write writes. */
#define FS_MAX_BYTES (16u << 20)
/* The most names fs.list returns, paths fs.glob returns, and directories
 * fs.glob opens. */
#define FS_MAX_ENTRIES 100000u
#define FS_GLOB_MAX_DIRS 10000u

void fs_read_start(CapCall *c, const cJSON *args);
void fs_list_start(CapCall *c, const cJSON *args);
void fs_glob_start(CapCall *c, const cJSON *args);
void fs_exists_start(CapCall *c, const cJSON *args);
void fs_write_start(CapCall *c, const cJSON *args);

#endif
