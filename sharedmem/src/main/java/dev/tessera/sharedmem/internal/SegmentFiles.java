package dev.tessera.sharedmem.internal;

import dev.tessera.sharedmem.SegmentSpaceException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Files behind segments: where they live, how they are named, created, reserved and mapped. Stateless and
 * thread-safe.
 *
 * <p>Names are {@code tessera-} plus 128 random bits in hex, so they cannot be guessed or collide. Files are
 * created with {@code O_CREAT | O_EXCL | O_NOFOLLOW} and mode 0600, their pages are reserved with
 * {@code posix_fallocate} before anything is mapped, and existing files are opened with
 * {@link LinkOption#NOFOLLOW_LINKS} ({@code O_NOFOLLOW}). A mapping does not keep its file descriptor: the
 * channel is closed as soon as the file is mapped.
 */
public final class SegmentFiles {
    public static final String PREFIX = "tessera-";
    /** System property naming the segment directory; read on every call so tests can point it elsewhere. */
    public static final String DIRECTORY_PROPERTY = "tessera.shm.dir";
    public static final int NAME_BITS = 128;
    /** Store index files are named this prefix plus the store name. */
    public static final String STORE_PREFIX = "tessera-store-";
    /** The longest store name, in characters. */
    public static final int MAX_STORE_NAME_LENGTH = 32;

    private static final Pattern NAME = Pattern.compile("tessera-[0-9a-f]{32}");
    private static final Pattern STORE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,31}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();
    private static final int ZERO_FILL_CHUNK = 1 << 20;

    private SegmentFiles() {}

    /** The configured directory, else {@code /dev/shm}, else {@code java.io.tmpdir/tessera-shm}. */
    public static Path defaultDirectory() {
        String configured = System.getProperty(DIRECTORY_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath();
        }
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return shm;
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "tessera-shm").toAbsolutePath();
    }

    /** Creates {@code dir} (mode 0700) if it does not exist yet. */
    public static Path ensureDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, ownerOnly("rwx------"));
        }
        return dir;
    }

    public static String newName() {
        byte[] bits = new byte[NAME_BITS / 8];
        RANDOM.nextBytes(bits);
        return nameOf(bits);
    }

    public static long newGeneration() {
        long g;
        do {
            g = RANDOM.nextLong();
        } while (g == 0);
        return g;
    }

    public static boolean isSegmentName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** Whether {@code name} is a valid store name: 1 to 32 of {@code [A-Za-z0-9._-]}, not starting with . or -. */
    public static boolean isStoreName(String name) {
        return name != null && STORE_NAME.matcher(name).matches();
    }

    /** The index file name of store {@code storeName} (which must be valid). */
    public static String storeFileName(String storeName) {
        if (!isStoreName(storeName)) {
            throw new IllegalArgumentException("store name '" + storeName + "' (expected 1.." + MAX_STORE_NAME_LENGTH
                    + " characters of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
        }
        return STORE_PREFIX + storeName;
    }

    /** Whether {@code fileName} names a store index file. */
    public static boolean isStoreFileName(String fileName) {
        return fileName != null && fileName.startsWith(STORE_PREFIX)
                && isStoreName(fileName.substring(STORE_PREFIX.length()));
    }

    /** The store name in a store index file name, or null if it is not one. */
    public static String storeNameOf(String fileName) {
        return isStoreFileName(fileName) ? fileName.substring(STORE_PREFIX.length()) : null;
    }

    public static String nameOf(byte[] bits) {
        if (bits.length != NAME_BITS / 8) {
            throw new IllegalArgumentException("name bits: " + bits.length + " bytes (expected 16)");
        }
        return PREFIX + HEX.formatHex(bits);
    }

    public static byte[] nameBits(String name) {
        if (!isSegmentName(name)) {
            throw new IllegalArgumentException("segment name '" + name + "' (expected tessera- and 32 hex digits)");
        }
        return HEX.parseHex(name, PREFIX.length(), name.length());
    }

    /**
     * Creates the file exclusively and reserves {@code length} bytes of real pages for it. Throws
     * {@link SegmentSpaceException} when the directory's filesystem cannot hold it; in that case, and on any
     * other failure, no file is left behind.
     */
    public static void createReserved(Path path, long length) throws IOException {
        createReserved(path, length, true);
    }

    /** {@code precheck=false} skips the usable-space check, so tests can reach the fallocate failure path. */
    static void createReserved(Path path, long length, boolean precheck) throws IOException {
        if (precheck) {
            checkUsableSpace(path, length);
        }
        try {
            if (Libc.isAvailable()) {
                int fd = Libc.openExclusive(path); // throws before creating anything
                reserveOrDelete(fd, path, length);
            } else {
                createAndZeroFill(path, length);
            }
        } catch (Libc.ErrnoException e) {
            if (e.errno() == Libc.ENOSPC || e.errno() == Libc.EFBIG || e.errno() == Libc.EDQUOT) {
                throw new SegmentSpaceException(path.getParent(), length, usableSpace(path.getParent()), e);
            }
            throw e;
        }
    }

    private static void reserveOrDelete(int fd, Path path, long length) throws IOException {
        boolean reserved = false;
        try {
            Libc.fallocate(fd, length, path);
            reserved = true;
        } finally {
            Libc.close(fd);
            if (!reserved) {
                deleteQuietly(path);
            }
        }
    }

    /** Fails early, before touching the filesystem, when the request is larger than the usable space. */
    static void checkUsableSpace(Path path, long length) throws IOException {
        long usable = usableSpace(path.getParent());
        if (usable >= 0 && length > usable) {
            throw new SegmentSpaceException(path.getParent(), length, usable, null);
        }
    }

    private static long usableSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Portable fallback: O_EXCL creation plus writing real zeros, which reserves pages as fallocate does. */
    private static void createAndZeroFill(Path path, long length) throws IOException {
        EnumSet<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        SeekableByteChannel ch = Files.newByteChannel(path, options, ownerOnly("rw-------"));
        try (ch) {
            ByteBuffer zeros = ByteBuffer.allocateDirect(ZERO_FILL_CHUNK);
            for (long written = 0; written < length; ) {
                zeros.clear().limit((int) Math.min(ZERO_FILL_CHUNK, length - written));
                written += ch.write(zeros);
            }
        } catch (IOException e) {
            deleteQuietly(path);
            if (String.valueOf(e.getMessage()).contains("No space left")) {
                throw new Libc.ErrnoException(e.getMessage(), Libc.ENOSPC);
            }
            throw e;
        }
    }

    private static FileAttribute<?>[] ownerOnly(String perms) {
        boolean posix = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        return posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms))}
                : new FileAttribute<?>[0];
    }

    /** Opens the file without following links and returns its size; rejects anything but a regular file. */
    public static long regularFileSize(Path path) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attrs.isSymbolicLink()) {
            throw new java.nio.file.FileSystemException(path.toString(), null, "refusing to follow a symlink");
        }
        if (!attrs.isRegularFile()) {
            throw new java.nio.file.FileSystemException(path.toString(), null, "not a regular file");
        }
        return attrs.size();
    }

    /** Maps a whole existing segment file, refusing symlinks (checked, and enforced again by O_NOFOLLOW). */
    public static MemorySegment mapExisting(Path path, Arena arena) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, NO_FOLLOW_READ_WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            regularFileSize(path); // name the cause (ELOOP: a symlink; or a directory) when there is one
            throw e;
        }
        try (ch) {
            long size = ch.size();
            SegmentDescriptor.checkCapacity(size);
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        }
    }

    private static final java.util.Set<java.nio.file.OpenOption> NO_FOLLOW_READ_WRITE =
            java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);

    /** Maps part of an existing segment file privately (copy-on-write), refusing symlinks. */
    public static MemorySegment mapPrivate(Path path, long position, long length, Arena arena) throws IOException {
        return mapRange(path, FileChannel.MapMode.PRIVATE, position, length, arena);
    }

    /** Maps part of an existing segment file, refusing symlinks, and closes the channel before returning. */
    public static MemorySegment mapRange(Path path, FileChannel.MapMode mode, long position, long length,
            Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, NO_FOLLOW_READ_WRITE)) {
            return ch.map(mode, position, length, arena);
        }
    }

    public static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // best effort: the reaper removes what is left
        }
    }
}
