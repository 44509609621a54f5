package dev.tessera.sharedmem.internal;

import dev.tessera.sharedmem.UntrustedFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which segment and store files this process may open: immutable and thread-safe.
 *
 * <p>The rule: a file is opened only if its owner is the user this process runs as, or one of
 * {@link #trustedOwners()}, and it has no group or other permission bits ({@code mode & 077 == 0}), unless
 * {@link #allowSharedModes()}. Both are checked on the opened file descriptor (see
 * {@link SegmentFiles#openChecked}), so a file swapped in after the check is never the one that is mapped.
 *
 * <p>Why: segment files live in a directory every user can write ({@code /dev/shm}); a file another user
 * planted, or one that others may write, could hold any header and any value. Tessera creates its own files
 * with mode 0600, so the rule costs nothing to a single user, and a deliberate multi-user setup opts in:
 * process-wide with the system properties {@value #TRUSTED_OWNERS_PROPERTY} (comma-separated numeric uids) and
 * {@value #ALLOW_SHARED_MODES_PROPERTY} ({@code true}), read on every open, or per store with
 * {@code SharedStore.Builder.optTrustedOwners} and {@code optAllowSharedModes}, which add to them.
 */
public record FileTrust(Set<Integer> trustedOwners, boolean allowSharedModes) {
    /** System property: numeric uids, comma-separated, whose files are opened as if they were this user's. */
    public static final String TRUSTED_OWNERS_PROPERTY = "tessera.shm.trustedOwners";
    /** System property: {@code true} to open files with group or other permission bits. */
    public static final String ALLOW_SHARED_MODES_PROPERTY = "tessera.shm.allowSharedModes";
    /** A uid the platform does not report. */
    public static final int UNKNOWN_UID = -1;
    /** Only this user's files, mode 0600 or stricter: for files this process has just created itself. */
    public static final FileTrust OWN = new FileTrust(Set.of(), false);

    private static final int SELF_UID = lookUpSelfUid();
    private static volatile Parsed cache = new Parsed(null, null, OWN);

    private record Parsed(String owners, String modes, FileTrust trust) {}

    public FileTrust {
        trustedOwners = Set.copyOf(trustedOwners);
    }

    /** The numeric user id of this process, or {@link #UNKNOWN_UID} on platforms that do not have one. */
    public static int selfUid() {
        return SELF_UID;
    }

    private static int lookUpSelfUid() {
        try {
            return Math.toIntExact(new com.sun.security.auth.module.UnixSystem().getUid());
        } catch (Throwable t) { // not a Unix system (the native library is missing), or no such module
            return UNKNOWN_UID;
        }
    }

    /** The process-wide policy from the system properties (see the class comment); strict when they are unset. */
    public static FileTrust fromSystemProperties() {
        String owners = System.getProperty(TRUSTED_OWNERS_PROPERTY);
        String modes = System.getProperty(ALLOW_SHARED_MODES_PROPERTY);
        Parsed p = cache;
        if (java.util.Objects.equals(p.owners(), owners) && java.util.Objects.equals(p.modes(), modes)) {
            return p.trust();
        }
        FileTrust parsed = new FileTrust(parseOwners(owners), parseModes(modes));
        cache = new Parsed(owners, modes, parsed);
        return parsed;
    }

    private static Set<Integer> parseOwners(String value) {
        Set<Integer> uids = new TreeSet<>();
        if (value == null || value.isBlank()) {
            return uids;
        }
        for (String part : value.split(",")) {
            try {
                uids.add(checkUid(Integer.parseInt(part.strip())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-D" + TRUSTED_OWNERS_PROPERTY + "=" + value
                        + " (expected comma-separated numeric uids >= 0, for example 1001,1002)", e);
            }
        }
        return uids;
    }

    private static boolean parseModes(String value) {
        if (value == null || value.isBlank() || value.strip().equalsIgnoreCase("false")) {
            return false;
        }
        if (value.strip().equalsIgnoreCase("true")) {
            return true;
        }
        throw new IllegalArgumentException("-D" + ALLOW_SHARED_MODES_PROPERTY + "=" + value + " (expected true or false)");
    }

    /** Checks one uid for a setter: {@code uid >= 0}. */
    public static int checkUid(int uid) {
        if (uid < 0) {
            throw new IllegalArgumentException("trusted owner uid=" + uid + " (expected >= 0)");
        }
        return uid;
    }

    /** This policy plus {@code owners} and, if {@code sharedModes}, shared modes. */
    public FileTrust with(Collection<Integer> owners, boolean sharedModes) {
        if (owners.isEmpty() && (!sharedModes || allowSharedModes)) {
            return this;
        }
        Set<Integer> all = new TreeSet<>(trustedOwners);
        all.addAll(owners);
        return new FileTrust(all, allowSharedModes || sharedModes);
    }

    /** Whether a file of {@code ownerUid} with permission bits {@code mode} may be opened. */
    public boolean admits(int ownerUid, int mode) {
        boolean ownerOk = ownerUid == UNKNOWN_UID || SELF_UID == UNKNOWN_UID || ownerUid == SELF_UID
                || trustedOwners.contains(ownerUid);
        return ownerOk && (allowSharedModes || (mode & 077) == 0);
    }

    /** Throws {@link UntrustedFileException} naming the file, its owner and its mode unless {@link #admits}. */
    public void check(Path path, int ownerUid, int mode) {
        if (admits(ownerUid, mode)) {
            return;
        }
        boolean ownerOk = admits(ownerUid, 0);
        String why = ownerOk ? "it has group or other permission bits"
                : "it belongs to another user" + ((mode & 077) != 0 ? " and has group or other permission bits" : "");
        String fix = ownerOk ? "if sharing it is intended, set -D" + ALLOW_SHARED_MODES_PROPERTY
                + "=true (or SharedStore.Builder.optAllowSharedModes(true)), else chmod 600 it"
                : "if you trust that user, set -D" + TRUSTED_OWNERS_PROPERTY + "=" + ownerUid
                        + " (or SharedStore.Builder.optTrustedOwners(" + ownerUid + ")), else remove it";
        throw new UntrustedFileException(path, ownerUid, mode, "refusing to open " + path + ": owned by uid " + ownerUid
                + ownerName(path) + ", mode " + String.format("%04o", mode & 07777) + "; this process (uid " + SELF_UID
                + ") opens only files of its own user" + (trustedOwners.isEmpty() ? "" : " or of uids " + trustedOwners)
                + (allowSharedModes ? "" : " with no group/other permission bits") + ", and " + why + "; " + fix);
    }

    private static String ownerName(Path path) {
        try {
            return " (" + java.nio.file.Files.getOwner(path, java.nio.file.LinkOption.NOFOLLOW_LINKS).getName() + ")";
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    @Override
    public String toString() {
        return "FileTrust[owners=self" + (trustedOwners.isEmpty() ? "" : "," + Arrays.toString(trustedOwners.toArray()))
                + (allowSharedModes ? ", shared modes allowed" : "") + "]";
    }
}
