package dev.tessera.tools.bench;

/** A stand-in sample for {@link ServerBenchmarkTest} that prints one row, then fails with exit status 4. */
public final class FailingA3c {
    private FailingA3c() {}

    public static void main(String[] args) {
        System.out.println("{\"actors\": 1}");
        System.exit(4);
    }
}
