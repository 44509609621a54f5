package dev.tessera.assigner;

import java.util.Locale;

/** How {@link ModelAssigner} searches for a placement. */
public enum PlacementMethod {
    /**
     * The default: gradient descent on a relaxation, then repair of every hard-constraint violation and local
     * search (moves, swaps, segment moves) on the exact discrete objective from several starts. Never returns a
     * placement that breaks a hard constraint.
     */
    REFINED,
    /**
     * machin's behaviour, for comparison: gradient descent on the relaxation and a plain argmax. Violations are
     * reported in {@link Placement#violations()}, not repaired.
     */
    GRADIENT;

    /**
     * Parses {@code refined} or {@code gradient}, ignoring case and surrounding blanks.
     *
     * @param text the method name
     * @return the method
     * @throws IllegalArgumentException when the text names no method (the message gives the text)
     * @throws NullPointerException when {@code text} is null
     */
    public static PlacementMethod parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("method=" + text + " (expected refined or gradient)", e);
        }
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
