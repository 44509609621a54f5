package dev.tessera.assigner.internal;

/** Receives progress of a phase in its own units (steps, starts); called on the thread that runs the phase. */
@FunctionalInterface
public interface ProgressSink {
    void report(long done, long total);
}
