/* host.h — the VM's host for a run: it fills the effects table
 * (vm/effects.h) and installs it on the VM.
 *
 * Each kind of effect goes to the part of the runtime that does it: model
 * calls to the engine (engine.h), sleeps to the run's journal and records
 * (a sleep is a VM timer; the host traces it, journals it when it ends and
 * answers it from the journal on resume), trace events to the --trace file
 * and the journal's events. The host holds none of these: each is attached
 * when the run has it, and a host with nothing attached is a VM whose ASK
 * fails cleanly and whose sleeps are plain timers.
 *
 * Order of a run: vm_new, engine_new, host_new(vm, engine), then
 * host_trace_file / host_trace_sink / host_trace_journal / host_set_log as
 * the run needs, vm_run_main; then engine_free, vm_free (the trace still
 * sees the fibers freed with the VM), host_free. */
#ifndef WEFT_HOST_H
#define WEFT_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include "engine.h"
#include "grants.h"
#include "journal.h"
#include "../vm/vm.h"

typedef struct Host Host;

/* A host for vm, installed at once; engine (may be NULL) takes the model
 * calls until it is freed. */
Host *host_new(VM *vm, Engine *engine);
/* Closes the trace file and frees the host: after vm_free (the VM's
 * trace reaches the host until then), or after vm_set_effects(vm, NULL).
 * False when a trace event could not be written to the file. NULL-safe. */
bool host_free(Host *h);

/* The journal and records this run's effects are written to and answered
 * from (borrowed; NULL: none). Set before the run starts. */
void host_set_log(Host *h, EffectLog *log);
/* What capability calls (std/fs, std/proc, std/http) may touch (borrowed,
 * outliving the host; NULL: nothing, every call is refused). */
void host_set_grants(Host *h, const Grants *g);
/* --trace FILE: every trace event as one line of path, written and flushed
 * as it happens (the file is truncated now). False + *err (malloc'd). */
bool host_trace_file(Host *h, const char *path, char **err);
/* Every trace event also to sink, as the --trace file's line: the JSON
 * object and a newline (n bytes, then a NUL), borrowed for the call, on the
 * run's thread (the embedding API's weft_session_set_trace). */
typedef void (*HostTraceSink)(void *ud, const char *line, size_t n);
void host_trace_sink(Host *h, HostTraceSink sink, void *ud);
/* Every trace event also into run's events in journal j (in the journal's
 * open transaction: committed with the next effect). */
void host_trace_journal(Host *h, Journal *j, int64_t run);

/* Commits the journal's pending writes; on failure the run is stopped
 * (vm_fatal) with the journal's error. Cheap when nothing is pending. */
void effects_commit(VM *vm, EffectLog *log);

#endif
