package dev.tessera.distributed.internal;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * Carries an exception chain between members as plain JDK values (class names, messages, stack traces), so that
 * any exception comes back whatever its class and whether or not it serializes. Stateless.
 *
 * <p>Form: {@code Object[] {String[] types, String[] messages, StackTraceElement[][] traces}}, outermost first.
 */
public final class Failures {
    private static final int MAX_CHAIN = 16;

    private Failures() {}

    /** The chain of {@code t} (at most 16 causes, cycles cut) in the carried form. */
    public static Object[] describe(Throwable t) {
        List<Throwable> chain = new ArrayList<>();
        IdentityHashMap<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable c = t; c != null && chain.size() < MAX_CHAIN && seen.put(c, Boolean.TRUE) == null;
                c = c.getCause()) {
            chain.add(c);
        }
        String[] types = new String[chain.size()];
        String[] messages = new String[chain.size()];
        StackTraceElement[][] traces = new StackTraceElement[chain.size()][];
        for (int i = 0; i < chain.size(); i++) {
            types[i] = chain.get(i).getClass().getName();
            messages[i] = chain.get(i).getMessage();
            traces[i] = chain.get(i).getStackTrace();
        }
        return new Object[] {types, messages, traces};
    }

    /**
     * Rebuilds a carried chain as {@link RemoteTrace}s, the outermost returned.
     *
     * @throws IllegalArgumentException if {@code carried} is not in the carried form
     */
    public static RemoteTrace rebuild(String member, Object carried) {
        if (!(carried instanceof Object[] a) || a.length != 3 || !(a[0] instanceof String[] types)
                || !(a[1] instanceof String[] messages) || !(a[2] instanceof StackTraceElement[][] traces)
                || messages.length != types.length || traces.length != types.length) {
            throw new IllegalArgumentException("a failure reply from " + member + " is not in the carried form");
        }
        RemoteTrace cause = null;
        for (int i = types.length - 1; i >= 0; i--) {
            cause = new RemoteTrace(member, types[i], messages[i], traces[i], cause);
        }
        return cause;
    }
}
