package dev.tessera.sharedmem.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Downcalls to the few libc functions the JDK does not expose: {@code open} with {@code O_NOFOLLOW}
 * (and {@code O_EXCL} with an explicit mode, to create), {@code posix_fallocate} and {@code close}. Stateless and thread-safe.
 *
 * <p>Why: a sparse file ({@code setLength}) reserves no pages, so writing to its mapping on a full
 * {@code /dev/shm} raises SIGBUS and kills the JVM. {@code posix_fallocate} reserves every page up front
 * and fails with {@code ENOSPC} instead. Only Linux on x86-64 and AArch64 is supported (the open flags
 * differ per architecture); elsewhere {@link #isAvailable()} is false and callers fall back to writing
 * zeros through a channel.
 */
@SuppressWarnings("restricted") // native access is this class's purpose; the launcher enables it
final class Libc {
    public static final int ENOSPC = 28;
    public static final int EFBIG = 27;
    public static final int EDQUOT = 122;
    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final int EEXIST = 17;
    private static final int EISDIR = 21;
    private static final int ELOOP = 40;

    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_CLOEXEC = 02000000;

    private static final Handles HANDLES = Handles.load().orElse(null);

    private Libc() {}

    public static boolean isAvailable() {
        return HANDLES != null;
    }

    /** The failure of a libc call, with its errno. */
    public static final class ErrnoException extends IOException {
        private final int errno;

        ErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /**
     * Creates {@code path} exclusively ({@code O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC}) with mode 0600 and
     * returns its file descriptor. Nothing exists at {@code path} afterwards if this throws.
     */
    public static int openExclusive(Path path) throws IOException {
        return open(requireHandles(), path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC);
    }

    /**
     * Opens the existing file {@code path} read-write without following a symlink ({@code O_RDWR | O_NOFOLLOW |
     * O_CLOEXEC}) and returns its file descriptor, which the caller closes with {@link #close(int)}.
     *
     * @throws java.nio.file.NoSuchFileException if it does not exist
     */
    public static int openExisting(Path path) throws IOException {
        return open(requireHandles(), path, O_RDWR | O_CLOEXEC);
    }

    /** Reserves real pages for bytes [0, length) of {@code fd}; throws {@link ErrnoException} with the errno. */
    public static void fallocate(int fd, long length, Path pathForMessages) throws IOException {
        Handles h = requireHandles();
        int rc;
        try {
            rc = (int) h.fallocate.invokeExact(fd, 0L, length);
        } catch (Throwable t) {
            throw new IllegalStateException("posix_fallocate downcall failed", t);
        }
        if (rc != 0) {
            throw new ErrnoException("posix_fallocate(" + pathForMessages + ", " + length + " bytes) failed: "
                    + strerror(h, rc), rc);
        }
    }

    public static void close(int fd) {
        close(requireHandles(), fd);
    }

    private static int open(Handles h, Path path, int openFlags) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(h.captureLayout);
            int flags = openFlags | h.oNoFollow;
            int fd = (int) h.open.invokeExact(state, arena.allocateFrom(path.toString()), flags, 0600);
            if (fd >= 0) {
                return fd;
            }
            int errno = (int) h.errno.get(state, 0L);
            String why = strerror(h, errno);
            if (errno == EEXIST) {
                throw new FileAlreadyExistsException(path.toString(), null, why);
            }
            if (errno == ELOOP) {
                throw new FileSystemException(path.toString(), null, "refusing to follow a symlink: " + why);
            }
            if (errno == ENOENT) {
                throw new java.nio.file.NoSuchFileException(path.toString(), null, why);
            }
            if (errno == EACCES) {
                throw new java.nio.file.AccessDeniedException(path.toString(), null, why);
            }
            if (errno == EISDIR) {
                throw new FileSystemException(path.toString(), null, "not a regular file: " + why);
            }
            throw new ErrnoException("open(" + path + ") failed: " + why, errno);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("open downcall failed", t);
        }
    }

    private static void close(Handles h, int fd) {
        try {
            int ignored = (int) h.close.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close downcall failed", t);
        }
    }

    private static String strerror(Handles h, int errno) {
        try {
            MemorySegment s = (MemorySegment) h.strerror.invokeExact(errno);
            return s.reinterpret(256).getString(0) + " (errno " + errno + ")";
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static Handles requireHandles() {
        if (HANDLES == null) {
            throw new UnsupportedOperationException("libc downcalls are unavailable on "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch"));
        }
        return HANDLES;
    }

    private record Handles(MethodHandle open, MethodHandle fallocate, MethodHandle close, MethodHandle strerror,
            StructLayout captureLayout, VarHandle errno, int oNoFollow) {

        static Optional<Handles> load() {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "");
            int noFollow = switch (arch) {
                case "amd64", "x86_64" -> 0400000;
                case "aarch64" -> 0100000;
                default -> -1;
            };
            if (!os.contains("linux") || noFollow < 0) {
                return Optional.empty();
            }
            try {
                return Optional.of(link(noFollow));
            } catch (RuntimeException | Error e) { // e.g. native access denied, or a libc without the symbol
                return Optional.empty();
            }
        }

        private static Handles link(int noFollow) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            StructLayout capture = Linker.Option.captureStateLayout();
            VarHandle errno = capture.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
            MethodHandle open = linker.downcallHandle(libc.findOrThrow("open"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT),
                    Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
            MethodHandle fallocate = linker.downcallHandle(libc.findOrThrow("posix_fallocate"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG));
            MethodHandle close = linker.downcallHandle(libc.findOrThrow("close"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle strerror = linker.downcallHandle(libc.findOrThrow("strerror"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            return new Handles(open, fallocate, close, strerror, capture, errno, noFollow);
        }
    }
}
