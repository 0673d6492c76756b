/* proc_cap.h — proc.run, the row of the capability table (caps.c) that
 * runs a granted program for std/proc (proc_cap.c, over proc.h). */
#ifndef WEFT_PROC_CAP_H
#define WEFT_PROC_CAP_H

#include "caps.h"

void proc_run_start(CapCall *c, const cJSON *args);
void proc_run_cancel(CapCall *c);

#endif
