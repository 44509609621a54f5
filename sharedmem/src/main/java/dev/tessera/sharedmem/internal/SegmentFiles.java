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

/**
 * Files behind segments: where they live, how they are named, created, reserved and mapped. Stateless and
 * thread-safe.
 *
 * <p>Names are {@code tessera-} plus 128 random bits in hex, so they cannot be guessed or collide. Files are
 * created with {@code O_CREAT | O_EXCL | O_NOFOLLOW} and mode 0600, their pages are reserved with
 * {@code posix_fallocate} before anything is mapped, and existing files are opened with {@code O_NOFOLLOW}
 * and admitted only if {@link FileTrust} accepts their owner and mode, as read from the opened descriptor
 * ({@link #openChecked}). A mapping does not keep its file descriptor: the channel is closed as soon as the
 * file is mapped.
 */
public final class SegmentFiles {
    public static final String PREFIX = "tessera-";
    /** System property naming the segment directory; read on every call so tests can point it elsewhere. */
    public static final String DIRECTORY_PROPERTY = "tessera.shm.dir";
    public static final int NAME_BITS = 128;
    /** System property: further directories, separated by the path separator, that stubs may name. */
    public static final String ALLOWED_DIRECTORIES_PROPERTY = "tessera.shm.allowedDirectories";

    private static final java.util.Set<Path> USED_DIRECTORIES = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();
    private static final int ZERO_FILL_CHUNK = 1 << 20;

    private SegmentFiles() {}

    /** The configured directory, else {@code /dev/shm}, else {@code java.io.tmpdir/tessera-shm}. */
    public static Path defaultDirectory() {
        String configured = System.getProperty(DIRECTORY_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        return FallbackDirectory.PATH;
    }

    /** The directory without the property, decided once: two file-system calls on every stub open cost ~10 µs. */
    private static final class FallbackDirectory {
        static final Path PATH = choose();

        private static Path choose() {
            Path shm = Path.of("/dev/shm");
            if (Files.isDirectory(shm) && Files.isWritable(shm)) {
                return shm;
            }
            return Path.of(System.getProperty("java.io.tmpdir"), "tessera-shm").toAbsolutePath().normalize();
        }
    }

    /**
     * Records that this process uses {@code dir} for segments (it creates segments or opens a store there), so
     * that stubs naming it may be opened; returns {@code dir}, absolute and normalised.
     */
    public static Path useDirectory(Path dir) {
        Path normal = dir.toAbsolutePath().normalize();
        USED_DIRECTORIES.add(normal);
        return normal;
    }

    /**
     * Whether a stub may name {@code dir}: it must be normalised (no {@code .} or {@code ..} components) and be
     * the {@linkplain #defaultDirectory() default directory}, a directory this process {@linkplain #useDirectory
     * uses}, or one listed in {@value #ALLOWED_DIRECTORIES_PROPERTY}. Returns null if so, else why not.
     */
    public static String whyDirectoryRefused(Path dir) {
        if (!dir.isAbsolute() || !dir.normalize().equals(dir)) {
            return "directory '" + dir + "' is not an absolute, normalised path (it has . or .. components)";
        }
        if (USED_DIRECTORIES.contains(dir) || dir.equals(defaultDirectory())) {
            return null;
        }
        String allowed = System.getProperty(ALLOWED_DIRECTORIES_PROPERTY);
        if (allowed != null) {
            for (String a : allowed.split(java.io.File.pathSeparator)) {
                if (!a.isBlank() && Path.of(a.strip()).toAbsolutePath().normalize().equals(dir)) {
                    return null;
                }
            }
        }
        return "directory '" + dir + "' is not the segment directory " + defaultDirectory() + " nor one this process "
                + "uses (" + USED_DIRECTORIES.size() + " others); to open stubs that name it, set -D"
                + ALLOWED_DIRECTORIES_PROPERTY + "=" + dir + " or create a segment or open a store there first";
    }

    /** Creates {@code dir} (mode 0700) if it does not exist yet. */
    public static Path ensureDirectory(Path dir) throws IOException {
        useDirectory(dir);
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

    /**
     * Whether {@code name} is {@code tessera-} and 32 lower-case hex digits. Checked by hand, not with a regular
     * expression: every stub is checked on both sides, and the matcher cost 6% of a stub's round trip.
     */
    public static boolean isSegmentName(String name) {
        if (name == null || name.length() != PREFIX.length() + NAME_BITS / 4 || !name.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < name.length(); i++) {
            char c = name.charAt(i);
            if ((c < '0' || c > '9') && (c < 'a' || c > 'f')) {
                return false;
            }
        }
        return true;
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

    /** What {@link #openChecked} saw of a file through its descriptor: size, owner uid and permission bits. */
    public record FileStatus(long size, int ownerUid, int mode) {}

    /** An open, checked file; closing it closes the channel. */
    public record CheckedFile(FileChannel channel, FileStatus status) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** A mapping of a whole file with what was checked when it was opened. */
    public record Mapped(MemorySegment segment, FileStatus status) {}

    /**
     * Opens an existing file read-write without following a symlink and checks, on the opened descriptor, that
     * it is a regular file that {@code trust} admits (owner and mode). The check reads the attributes of
     * {@code /proc/self/fd/N} (an {@code fstat} of the descriptor) and the channel is opened through that link,
     * so the file checked is the file mapped even if the name is swapped meanwhile. Without libc downcalls or
     * procfs it checks the attributes of the path right after opening it.
     *
     * @throws dev.tessera.sharedmem.UntrustedFileException if {@code trust} refuses the file
     * @throws java.nio.file.NoSuchFileException if it does not exist
     */
    public static CheckedFile openChecked(Path path, FileTrust trust) throws IOException {
        if (Libc.isAvailable() && PROC_SELF_FD) {
            int fd = Libc.openExisting(path);
            try {
                Path self = Path.of("/proc/self/fd", Integer.toString(fd));
                FileStatus status = checkStatus(path, self, true, trust);
                return new CheckedFile(FileChannel.open(self, READ_WRITE), status);
            } finally {
                Libc.close(fd);
            }
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, NO_FOLLOW_READ_WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            regularFileSize(path); // name the cause (ELOOP: a symlink; or a directory) when there is one
            throw e;
        }
        try {
            return new CheckedFile(ch, checkStatus(path, path, false, trust));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static FileStatus checkStatus(Path path, Path attributesOf, boolean follow, FileTrust trust)
            throws IOException {
        LinkOption[] options = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
        FileStatus status;
        if (UNIX_VIEW) {
            java.util.Map<String, Object> a = Files.readAttributes(attributesOf, "unix:uid,mode,size", options);
            int mode = (Integer) a.get("mode");
            if ((mode & S_IFMT) != S_IFREG) {
                throw new java.nio.file.FileSystemException(path.toString(), null, "not a regular file");
            }
            status = new FileStatus((Long) a.get("size"), (Integer) a.get("uid"), mode & 07777);
        } else if (POSIX_VIEW) {
            java.nio.file.attribute.PosixFileAttributes a =
                    Files.readAttributes(attributesOf, java.nio.file.attribute.PosixFileAttributes.class, options);
            if (!a.isRegularFile()) {
                throw new java.nio.file.FileSystemException(path.toString(), null, "not a regular file");
            }
            status = new FileStatus(a.size(), FileTrust.UNKNOWN_UID, modeOf(a.permissions()));
        } else {
            return new FileStatus(regularFileSize(path), FileTrust.UNKNOWN_UID, 0600);
        }
        trust.check(path, status.ownerUid(), status.mode());
        return status;
    }

    private static int modeOf(java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions) {
        int mode = 0;
        for (java.nio.file.attribute.PosixFilePermission p : permissions) {
            mode |= 0400 >> p.ordinal(); // OWNER_READ, OWNER_WRITE, ..., OTHERS_EXECUTE in octal order
        }
        return mode;
    }

    /**
     * Maps a whole existing segment file that {@code trust} admits (see {@link #openChecked}). A file smaller
     * than a segment header (one truncated by another process, say) is refused before anything is mapped.
     */
    public static Mapped mapExisting(Path path, Arena arena, FileTrust trust) throws IOException {
        try (CheckedFile f = openChecked(path, trust)) {
            long size = f.status().size();
            checkHeaderFits(path, size);
            return new Mapped(f.channel().map(FileChannel.MapMode.READ_WRITE, 0, size, arena), f.status());
        }
    }

    /** Throws a {@link java.nio.file.FileSystemException} naming the file if it cannot hold a segment header. */
    public static void checkHeaderFits(Path path, long size) throws IOException {
        if (size < SegmentDescriptor.HEADER_LENGTH) {
            throw new java.nio.file.FileSystemException(path.toString(), null, "the file has " + size
                    + " bytes, fewer than a segment header (" + SegmentDescriptor.HEADER_LENGTH
                    + "): it was truncated by another process, or is not a segment");
        }
    }

    private static final java.util.Set<java.nio.file.OpenOption> NO_FOLLOW_READ_WRITE =
            java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final java.util.Set<java.nio.file.OpenOption> READ_WRITE =
            java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final boolean PROC_SELF_FD = Files.isDirectory(Path.of("/proc/self/fd"));
    private static final boolean UNIX_VIEW =
            java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("unix");
    private static final boolean POSIX_VIEW =
            java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    /** Maps part of an existing segment file privately (copy-on-write), if {@code trust} admits it. */
    public static MemorySegment mapPrivate(Path path, long position, long length, Arena arena, FileTrust trust)
            throws IOException {
        return mapRange(path, FileChannel.MapMode.PRIVATE, position, length, arena, trust);
    }

    /**
     * Maps part of an existing segment file that {@code trust} admits, and closes the channel before returning.
     * The range must lie within the file as it is now (a file that shrank is refused, not mapped past its end).
     */
    public static MemorySegment mapRange(Path path, FileChannel.MapMode mode, long position, long length,
            Arena arena, FileTrust trust) throws IOException {
        try (CheckedFile f = openChecked(path, trust)) {
            if (position + length > f.status().size()) {
                throw new java.nio.file.FileSystemException(path.toString(), null, "the file has "
                        + f.status().size() + " bytes, fewer than the " + (position + length) + " to map: it was "
                        + "truncated by another process, or is not a segment");
            }
            return f.channel().map(mode, position, length, arena);
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
