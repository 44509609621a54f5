package dev.tessera.queue.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * A channel that writes one message into a claimed slot's payload. Not thread-safe; it does not own the slot.
 *
 * <p>The codec's message opens with a fixed head (magic, mode, tail length, graph length; see
 * {@code TensorCodec}'s wire format), so the first write tells the whole size; a message over the slot's
 * limit fails there with {@link TooLargeException}, before anything is copied, and the codec then takes back
 * any shared-memory references the message carried.
 */
public final class SlotChannel implements WritableByteChannel {
    /** Bytes of the codec's head: magic (4), mode (1), tail length (8), graph length (4). */
    static final int CODEC_HEAD_BYTES = 17;
    private final MemorySegment payload;
    private long written;
    private boolean open = true;

    /** A channel that writes from the start of {@code payload}, a claimed slot's payload area. */
    public SlotChannel(MemorySegment payload) {
        this.payload = payload;
    }

    /** The message's size, known from its head, is over the slot's limit. */
    public static final class TooLargeException extends IOException {
        private final long size;

        TooLargeException(long size) {
            super("message of " + size + " bytes");
            this.size = size;
        }

        /** The message's size in bytes, at least. */
        public long size() {
            return size;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        int n = src.remaining();
        if (written == 0 && n >= CODEC_HEAD_BYTES) {
            long total = CODEC_HEAD_BYTES + src.getLong(src.position() + 5) + src.getInt(src.position() + 13);
            if (total > payload.byteSize() || total < 0) {
                throw new TooLargeException(total);
            }
        }
        if (written + n > payload.byteSize()) {
            throw new TooLargeException(written + n);
        }
        MemorySegment.copy(MemorySegment.ofBuffer(src), 0, payload, written, n);
        src.position(src.position() + n);
        written += n;
        return n;
    }

    /** Bytes written so far. */
    public int written() {
        return (int) written;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }
}
