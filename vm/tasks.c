/* tasks.c — being written: fan-out branches and barriers. */
typedef int weft_placeholder_tasks;
