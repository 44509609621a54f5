package dev.tessera.sharedmem.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The one rule for deserialization allow-list patterns, shared by every codec ({@code TensorCodec},
 * {@code SharedStore}, the pool's worker codec) and every builder that takes {@code optAllowPatterns}.
 * Stateless and thread-safe.
 *
 * <p>A pattern is one of the {@link java.io.ObjectInputFilter.Config#createFilter} forms that name what to
 * <em>allow</em>: a class name ({@code com.example.Task}, nested classes with {@code $}), a package
 * ({@code com.example.*}), a package and its subpackages ({@code com.example.**}) or a name prefix
 * ({@code com.example.Task*}). Refused, because they would widen or break the filter: blank patterns,
 * whitespace, the separators {@code ;} and {@code ,}, negation {@code !}, limits ({@code =}), module names
 * ({@code /}) and bare wildcards ({@code *}, {@code **}), which would allow every class on the class path.
 */
public final class AllowPatterns {
    private static final String IDENT = "[\\p{javaJavaIdentifierStart}][\\p{javaJavaIdentifierPart}]*";
    private static final Pattern VALID = Pattern.compile(IDENT + "(\\." + IDENT + ")*(\\.\\*\\*|\\.\\*|\\*)?");

    private AllowPatterns() {}

    /**
     * Checks one pattern.
     *
     * @return the pattern, stripped of surrounding whitespace
     * @throws IllegalArgumentException naming the pattern and the accepted forms
     */
    public static String check(String pattern) {
        String p = pattern == null ? null : pattern.strip();
        if (p == null || !VALID.matcher(p).matches()) {
            throw new IllegalArgumentException("allow pattern '" + pattern + "' (expected a class name such as "
                    + "com.example.Task, a package com.example.*, a package tree com.example.** or a prefix "
                    + "com.example.Task*; no whitespace, ';', ',', '!', '=', '/' or bare wildcard)");
        }
        return p;
    }

    /** Checks every pattern; returns them stripped, in order. */
    public static List<String> check(Collection<String> patterns) {
        List<String> out = new ArrayList<>(patterns.size());
        for (String p : patterns) {
            out.add(check(p));
        }
        return out;
    }

    /** Checks every pattern; returns them stripped, in order. */
    public static List<String> check(String... patterns) {
        return check(patterns == null ? java.util.Collections.singletonList(null) : java.util.Arrays.asList(patterns));
    }

    /**
     * The pattern that allows {@code type}'s package tree ({@code com.example.**}). In the unnamed package, which
     * no package pattern can name, it is the top-level class and everything nested in it or named after it
     * ({@code Main*}: {@code Main}, {@code Main$Point}, and {@code Main}'s lambdas). A hidden class (a lambda's)
     * counts as the class that defined it. Arrays stand for their component type; primitives need no pattern
     * (null).
     */
    public static String packageTreeOf(Class<?> type) {
        Class<?> c = type;
        while (c.isArray()) {
            c = c.getComponentType();
        }
        if (c.isPrimitive()) {
            return null;
        }
        String pkg = c.getPackageName();
        return pkg.isEmpty() ? topLevelOf(c).getName() + "*" : pkg + ".**";
    }

    private static Class<?> topLevelOf(Class<?> c) {
        try {
            return c.getNestHost(); // the top-level class, also of a hidden class defined as its nestmate
        } catch (RuntimeException e) {
            return c;
        }
    }

    /** The filter clauses for {@code patterns} followed by {@code !*}, joined with {@code ;}. */
    public static String allowOnly(Collection<String> patterns) {
        return String.join(";", patterns) + ";!*";
    }
}
