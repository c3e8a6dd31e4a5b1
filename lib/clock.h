/*
 * clock.h - the monotonic clock, in seconds: for timeouts, rates,
 * deadlines and intervals, which a change of the wall clock must not move.
 */
#ifndef MD_CLOCK_H
#define MD_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (since boot), with nanoseconds. */
double mono_now(void);

#endif
