package dev.tessera.assigner.internal;

/** Called on the thread that runs a phase, with no arrays to own: receives its progress in its own units. */
@FunctionalInterface
public interface ProgressSink {
    void report(long done, long total);
}
