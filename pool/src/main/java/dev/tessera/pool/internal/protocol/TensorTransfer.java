package dev.tessera.pool.internal.protocol;

import dev.tessera.sharedmem.TensorCodec;
import java.util.Objects;

/**
 * How a pool's tensors travel between the parent and its workers: the {@link TensorCodec.Mode} and, for
 * {@link TensorCodec.Mode#AUTO}, the {@code maxNbytes} threshold. Resolved once from the pool's builder, carried
 * to every worker by {@link LaunchSettings} and applied to both sides' codecs by {@link #configure}. Immutable.
 *
 * @param mode AUTO (by size, the default), or COPY / SHARE forced by {@code optCopyTensors}
 * @param maxNbytes the largest array sent inline in AUTO; ignored by the forced modes
 */
public record TensorTransfer(TensorCodec.Mode mode, long maxNbytes) {
    /** By size with joblib's default threshold of 1 MiB. */
    public static final TensorTransfer DEFAULT = new TensorTransfer(TensorCodec.Mode.AUTO,
            TensorCodec.DEFAULT_MAX_NBYTES);

    public TensorTransfer {
        Objects.requireNonNull(mode, "mode");
        TensorCodec.Builder.checkMaxNbytes(maxNbytes);
    }

    /**
     * The transfer a builder's two options ask for.
     *
     * @param copyTensors {@code optCopyTensors}: true forces COPY, false forces SHARE, null leaves AUTO
     * @param maxNbytes {@code optMaxNbytes}, or null when it was not set (then 1 MiB)
     * @throws IllegalArgumentException if both were set: a forced mode has no threshold
     */
    public static TensorTransfer of(Boolean copyTensors, Long maxNbytes) {
        if (copyTensors != null && maxNbytes != null) {
            throw new IllegalArgumentException("maxNbytes=" + maxNbytes + " applies only when tensors travel by "
                    + "size, but optCopyTensors(" + copyTensors + ") sends every tensor one way; drop one of them");
        }
        if (copyTensors != null) {
            return new TensorTransfer(copyTensors ? TensorCodec.Mode.COPY : TensorCodec.Mode.SHARE,
                    TensorCodec.DEFAULT_MAX_NBYTES);
        }
        return maxNbytes == null ? DEFAULT : new TensorTransfer(TensorCodec.Mode.AUTO, maxNbytes);
    }

    /** Whether some tensors may travel as stubs (all but COPY), so that a worker may hold the parent's segments. */
    public boolean mayShare() {
        return mode != TensorCodec.Mode.COPY;
    }

    /** Sets this mode, and the threshold when it is AUTO, on {@code b}. */
    public TensorCodec.Builder configure(TensorCodec.Builder b) {
        b.optMode(mode);
        return mode == TensorCodec.Mode.AUTO ? b.optMaxNbytes(maxNbytes) : b;
    }

    @Override
    public String toString() {
        return mode == TensorCodec.Mode.AUTO ? mode + ":" + maxNbytes : mode.name();
    }

    /** Parses {@link #toString()}'s form, as a worker reads it from its command line. */
    static TensorTransfer parse(String s) {
        int colon = s.indexOf(':');
        return colon < 0 ? new TensorTransfer(TensorCodec.Mode.valueOf(s), TensorCodec.DEFAULT_MAX_NBYTES)
                : new TensorTransfer(TensorCodec.Mode.valueOf(s.substring(0, colon)),
                        Long.parseLong(s.substring(colon + 1)));
    }
}
