package dev.tessera.sharedmem.internal;

import dev.tessera.sharedmem.SegmentInfo;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Segments created under a name the user chose ({@code SharedSegment.Builder.optName}), so that any process of
 * the host can open them by that name: stateless and thread-safe; the leases it returns belong to the caller.
 * Also their registration with the segment layer as a {@link SegmentKind} (found through
 * {@code META-INF/services}); public only because {@link java.util.ServiceLoader} needs a public class with a
 * public constructor.
 *
 * <p>Names: 1 to {@value #MAX_NAME_LENGTH} characters of {@code [A-Za-z0-9._-]}, starting with a letter or
 * digit (so never {@code .} or {@code ..}) and not with {@code tessera-}, which random segment names and the
 * layers' files start with (so a name never looks like one of them). The
 * file is {@link #PREFIX}, the creator's numeric uid, a dash and the name ({@code tessera-named-1000-jobs}):
 * each user has a namespace of their own, {@link #open} looks in this user's namespace first and then in those of
 * trusted users ({@code -Dtessera.shm.trustedOwners}), and {@link FileTrust} refuses a file that another user
 * planted in one's namespace, as for a store (whose index files follow the same scheme).
 *
 * <p>Lifetime: a named segment is held by handles only ({@link SegmentDescriptor#FLAG_HANDLES_ONLY}): the last
 * handle's close, in any process, removes it, and the reaper removes one whose every attached process died (a
 * persistent one also needs its creator dead). Because a name is reused (a new segment of that name may be
 * created as soon as the file is gone), each handle maps the file on its own (the mapping cache serves names
 * that never repeat), and exactly one process may unlink a released file: the one that wins the unlink claim at
 * the start of the data region ({@link #claimUnlink}). The data region therefore starts with {@value
 * #PREFIX_BYTES} bytes of its own; the segment's user data follows them, still 64-byte aligned:
 *
 * <pre>
 *   data region: 0                8                                   64
 *                +----------------+-----------------------------------+---------------- ...
 *                | unlink claim   | (padding: one cache line)         | user data
 *                +----------------+-----------------------------------+---------------- ...
 * </pre>
 */
public final class NamedSegments implements SegmentKind {
    /** The segment kind of a named segment (see {@link SegmentDescriptor#getKind}). */
    public static final int KIND = 2;
    /** The file-name prefix of named segments. */
    public static final String PREFIX = "tessera-named-";
    /** The longest name, in characters. */
    public static final int MAX_NAME_LENGTH = 32;
    /** Bytes of the data region before the user's data: the unlink claim, padded to a cache line. */
    public static final int PREFIX_BYTES = 64;
    /** How long {@link #create} and {@link #open} wait for a file of the name that is being created or removed. */
    static final long BUSY_TIMEOUT_NANOS = 2_000_000_000L;

    private static final int UNLINK_CLAIM_OFFSET = 0;
    private static final String NAME_REGEX = "[A-Za-z0-9][A-Za-z0-9._-]{0," + (MAX_NAME_LENGTH - 1) + "}";
    private static final Pattern NAME = Pattern.compile(NAME_REGEX);
    private static final Pattern FILE_NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d{1,10}|x)-(" + NAME_REGEX
            + ")");
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final SegmentReference.LastRelease UNLINK_IF_CLAIMED = (header, path) -> {
        if (claimUnlinkOf(header.asSlice(SegmentDescriptor.HEADER_LENGTH))) {
            SegmentFiles.deleteQuietly(path);
        }
    };

    /** For the service loader. */
    public NamedSegments() {}

    /** Whether {@code name} is a valid segment name a user may choose. */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches() && !name.startsWith(SegmentFiles.PREFIX);
    }

    /**
     * Returns {@code name} if it is a valid name (see the class comment).
     *
     * @throws IllegalArgumentException naming the value and the rule otherwise
     */
    public static String checkName(String name) {
        if (!isName(name)) {
            throw new IllegalArgumentException("segment name '" + name + "' (expected 1.." + MAX_NAME_LENGTH
                    + " characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, not with "
                    + SegmentFiles.PREFIX + (name != null && name.length() > MAX_NAME_LENGTH ? "; it has "
                    + name.length() : "") + ")");
        }
        return name;
    }

    /** The file name of user {@code uid}'s segment {@code name} (which must be valid). */
    static String fileName(int uid, String name) {
        return PREFIX + (uid >= 0 ? Integer.toString(uid) : "x") + "-" + checkName(name);
    }

    /**
     * Creates the segment {@code name} in this user's namespace with {@code dataBytes} bytes of user data (after
     * {@link #PREFIX_BYTES}), and returns the creator's lease.
     *
     * @throws IllegalStateException if a live segment of that name exists, or one is stuck being created
     * @throws dev.tessera.sharedmem.SegmentSpaceException if it does not fit
     */
    public static SegmentLease create(Path directory, String name, long dataBytes, boolean persistent,
            String ownerName) {
        String fileName = fileName(FileTrust.selfUid(), name);
        long deadline = System.nanoTime() + BUSY_TIMEOUT_NANOS;
        for (int attempt = 0; ; attempt++) {
            try {
                return SegmentLease.createPrivate(directory, fileName, PREFIX_BYTES + dataBytes, KIND, persistent,
                        data -> { }, UNLINK_IF_CLAIMED, ownerName);
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof FileAlreadyExistsException)) {
                    throw e;
                }
            }
            String why = whyTaken(directory, fileName); // null: released and gone (or going) meanwhile
            if (why != null && (!why.startsWith(BEING_CREATED) || System.nanoTime() - deadline >= 0)) {
                throw new IllegalStateException("segment name '" + name + "' is taken in " + directory + ": " + why
                        + "; open it by name, close every handle on it first, or choose another name");
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("segment name '" + name + "' in " + directory + " stayed in use by "
                        + "a segment being removed for " + BUSY_TIMEOUT_NANOS / 1_000_000 + " ms; try again");
            }
            backOff(attempt);
        }
    }

    private static final String BEING_CREATED = "it is being created";

    /** Why the existing file {@code fileName} blocks a new segment of its name, or null if it is on its way out. */
    private static String whyTaken(Path directory, String fileName) {
        SegmentLease existing;
        try {
            existing = SegmentLease.openPrivate(directory, fileName, KIND, UNLINK_IF_CLAIMED, NamedSegments::claimData,
                    FileTrust.fromSystemProperties(), "a creator checking the name");
        } catch (SegmentLease.BusyException e) {
            return e.getMessage().endsWith("is being created") ? BEING_CREATED + " by another process (or its "
                    + "creator died meanwhile; ./tessera shm gc removes such a file after a minute)" : null;
        } catch (dev.tessera.sharedmem.UntrustedFileException e) {
            return "the file " + e.getMessage();
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        if (existing == null) {
            return null;
        }
        existing.close(); // the last handle if every other holder died: then the name is free now
        return java.nio.file.Files.exists(directory.resolve(fileName))
                ? "a live segment of that name exists (" + directory.resolve(fileName) + ")" : null;
    }

    /**
     * Opens the segment {@code name}: this user's, else the first of a trusted user's (lowest uid first) that
     * {@code trust} admits; waits up to {@link #BUSY_TIMEOUT_NANOS} while it is being created or removed.
     *
     * @throws UncheckedIOException with a {@link NoSuchFileException} cause if there is none
     * @throws dev.tessera.sharedmem.UntrustedFileException if {@code trust} refuses the file
     * @throws IllegalStateException if the file is a segment of another kind, or corrupt
     */
    public static SegmentLease open(Path directory, String name, FileTrust trust, String ownerName) {
        checkName(name);
        long deadline = System.nanoTime() + BUSY_TIMEOUT_NANOS;
        for (int attempt = 0; ; attempt++) {
            try {
                SegmentLease lease = openIn(directory, FileTrust.selfUid(), name, trust, ownerName);
                for (Iterator<Integer> it = trust.trustedOwners().stream().sorted().iterator();
                        lease == null && it.hasNext(); ) {
                    lease = openIn(directory, it.next(), name, trust, ownerName);
                }
                if (lease == null) {
                    Path path = directory.resolve(fileName(FileTrust.selfUid(), name));
                    throw new UncheckedIOException("no segment named '" + name + "' in " + directory
                            + " (every handle on it was closed, or it was never created)",
                            new NoSuchFileException(path.toString()));
                }
                return lease;
            } catch (SegmentLease.BusyException e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw new IllegalStateException("segment named '" + name + "' could not be opened: "
                            + e.getMessage() + " for more than " + BUSY_TIMEOUT_NANOS / 1_000_000 + " ms (if its "
                            + "creator died, ./tessera shm gc removes it after a minute)", e);
                }
                backOff(attempt);
            }
        }
    }

    private static SegmentLease openIn(Path directory, int uid, String name, FileTrust trust, String ownerName)
            throws SegmentLease.BusyException {
        return SegmentLease.openPrivate(directory, fileName(uid, name), KIND, UNLINK_IF_CLAIMED,
                NamedSegments::claimData, trust, ownerName);
    }

    private static void backOff(int attempt) {
        LockSupport.parkNanos(Math.min(1_000_000L, 10_000L << Math.min(attempt, 7)));
    }

    private static boolean claimData(MemorySegment header) {
        return claimUnlinkOf(header.asSlice(SegmentDescriptor.HEADER_LENGTH));
    }

    /**
     * Claims the unlink of a released named segment whose data region starts at {@code data}; true for exactly
     * one caller across all processes, which then knows that the file at the name is still this one.
     */
    static boolean claimUnlinkOf(MemorySegment data) {
        return LONG.compareAndSet(data, (long) UNLINK_CLAIM_OFFSET, 0L, 1L);
    }

    // ------------------------------------------------------------------------------------------ the kind

    @Override
    public int code() {
        return KIND;
    }

    @Override
    public boolean ownsFileName(String fileName) {
        return fileName != null && FILE_NAME.matcher(fileName).matches();
    }

    @Override
    public String holderNameOf(String fileName) {
        if (fileName == null) {
            return null;
        }
        Matcher m = FILE_NAME.matcher(fileName);
        return m.matches() ? m.group(2) : null;
    }

    @Override
    public SegmentInfo.Kind listedAs() {
        return SegmentInfo.Kind.NAMED;
    }

    @Override
    public int claimBytes() {
        return UNLINK_CLAIM_OFFSET + Long.BYTES;
    }

    @Override
    public boolean claimUnlink(MemorySegment data) {
        return claimUnlinkOf(data);
    }

    @Override
    public Holders holders(Path directory, FileTrust trust) {
        return NO_HOLDINGS;
    }

    /** A named segment holds no other segments. */
    private static final Holders NO_HOLDINGS = new Holders() {
        @Override
        public boolean holds(String holderName, long holderGeneration, String segmentName, long segmentGeneration) {
            return false;
        }

        @Override
        public void close() {}
    };
}
