package dev.tessera.distributed.server;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The versioned key-value data of an {@link OrderedServer}, and the one place its rules live; thread-safe (every
 * method is synchronized), it owns the encoded values it stores (byte arrays nobody else holds).
 *
 * <p>The rules, machin's {@code OrderedServerSimpleImpl}: a push to a key with no data always succeeds; otherwise it
 * succeeds only when the newest stored version equals the push's {@code prevVersion} (a chain of links; numbers need
 * not increase). The newest {@code versionDepth} versions of each key are kept, older ones dropped.
 *
 * <p>Beyond machin, each push carries a request id: a push whose id is already stored is a retry of one that was
 * applied (its reply was lost with a dead member) and succeeds again without storing twice, so a client may retry
 * an unacknowledged push on another replica.
 *
 * <p>Commands and replies are byte arrays ({@link #apply}), the same for a hosted server (applied directly) and a
 * replicated one (applied by every replica in Raft log order), so both share one implementation:
 * <pre>
 * PUSH: byte 1, UTF key, long version, long prevVersion, long requestHi, long requestLo, int n, n bytes value
 *       reply: byte 1 (stored or a retry of a stored push) or 0 (prevVersion is not the newest version)
 * PULL: byte 2, UTF key, byte hasVersion, [long version]      reply: an entry, or empty when there is none
 * NEWER: byte 3, UTF key, long version                        reply: the newest entry if its version is greater
 * entry: long version, int n, n bytes value
 * </pre>
 */
final class VersionedTable {
    static final byte PUSH = 1;
    static final byte PULL = 2;
    static final byte NEWER = 3;
    private static final byte[] NONE = new byte[0];
    private static final byte[] TRUE = {1};
    private static final byte[] FALSE = {0};

    private record Entry(long version, byte[] value, long requestHi, long requestLo) {}

    private final int versionDepth;
    private final Map<String, Deque<Entry>> data = new HashMap<>();

    VersionedTable(int versionDepth) {
        if (versionDepth < 1) {
            throw new IllegalArgumentException("versionDepth=" + versionDepth + " (expected >= 1)");
        }
        this.versionDepth = versionDepth;
    }

    /** Applies one command and returns its reply (formats in the class comment). */
    byte[] apply(byte[] command) {
        return apply(command, null);
    }

    /**
     * Applies one command; a PUSH stores {@code value} (an encoded value that travelled beside the command) instead
     * of the command's own, when it is not null.
     */
    synchronized byte[] apply(byte[] command, byte[] value) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(command));
            byte op = in.readByte();
            String key = in.readUTF();
            return switch (op) {
                case PUSH -> {
                    long version = in.readLong();
                    long prev = in.readLong();
                    long requestHi = in.readLong();
                    long requestLo = in.readLong();
                    byte[] own = readBytes(in);
                    yield push(key, version, prev, requestHi, requestLo, value != null ? value : own) ? TRUE : FALSE;
                }
                case PULL -> reply(in.readBoolean() ? find(key, in.readLong()) : newest(key));
                case NEWER -> {
                    Entry e = newest(key);
                    yield reply(e != null && e.version() > in.readLong() ? e : null);
                }
                default -> throw new IllegalArgumentException("unknown command " + op + " (a corrupt message?)");
            };
        } catch (IOException e) {
            throw new UncheckedIOException("malformed command of " + command.length + " bytes", e);
        }
    }

    private boolean push(String key, long version, long prev, long requestHi, long requestLo, byte[] value) {
        Deque<Entry> versions = data.get(key);
        if (versions == null) {
            versions = new ArrayDeque<>();
            data.put(key, versions);
        } else if (holds(versions, requestHi, requestLo)) {
            return true; // a retry of a push that was applied
        } else if (versions.peekLast().version() != prev) {
            return false;
        }
        versions.addLast(new Entry(version, value, requestHi, requestLo));
        while (versions.size() > versionDepth) {
            versions.removeFirst();
        }
        return true;
    }

    private static boolean holds(Deque<Entry> versions, long requestHi, long requestLo) {
        for (Entry e : versions) {
            if (e.requestHi() == requestHi && e.requestLo() == requestLo) {
                return true;
            }
        }
        return false;
    }

    private Entry newest(String key) {
        Deque<Entry> versions = data.get(key);
        return versions == null ? null : versions.peekLast();
    }

    private Entry find(String key, long version) {
        Deque<Entry> versions = data.get(key);
        if (versions == null) {
            return null;
        }
        for (Iterator<Entry> it = versions.descendingIterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.version() == version) {
                return e;
            }
        }
        return null;
    }

    private static byte[] reply(Entry e) {
        if (e == null) {
            return NONE;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(12 + e.value().length);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(e.version());
            out.writeInt(e.value().length);
            out.write(e.value());
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
        return bytes.toByteArray();
    }

    /** Writes every key's versions (a Raft snapshot). */
    synchronized void writeTo(DataOutput out) throws IOException {
        out.writeInt(data.size());
        for (Map.Entry<String, Deque<Entry>> kv : data.entrySet()) {
            out.writeUTF(kv.getKey());
            out.writeInt(kv.getValue().size());
            for (Entry e : kv.getValue()) {
                out.writeLong(e.version());
                out.writeLong(e.requestHi());
                out.writeLong(e.requestLo());
                out.writeInt(e.value().length);
                out.write(e.value());
            }
        }
    }

    /** Replaces the data with a snapshot written by {@link #writeTo}. */
    synchronized void readFrom(DataInput in) throws IOException {
        data.clear();
        for (int keys = in.readInt(); keys > 0; keys--) {
            String key = in.readUTF();
            Deque<Entry> versions = new ArrayDeque<>();
            for (int n = in.readInt(); n > 0; n--) {
                long version = in.readLong();
                long hi = in.readLong();
                long lo = in.readLong();
                versions.addLast(new Entry(version, readBytes(in), hi, lo));
            }
            data.put(key, versions);
        }
    }

    private static byte[] readBytes(DataInput in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return b;
    }

    // ---------------------------------------------------------------------------------------------- commands

    static byte[] pushCommand(String key, long version, long prev, long requestHi, long requestLo, byte[] value) {
        return command(PUSH, key, out -> {
            out.writeLong(version);
            out.writeLong(prev);
            out.writeLong(requestHi);
            out.writeLong(requestLo);
            out.writeInt(value.length);
            out.write(value);
        });
    }

    static byte[] pullCommand(String key, Long version) {
        return command(PULL, key, out -> {
            out.writeBoolean(version != null);
            if (version != null) {
                out.writeLong(version);
            }
        });
    }

    static byte[] newerCommand(String key, long version) {
        return command(NEWER, key, out -> out.writeLong(version));
    }

    /** Reads a PULL or NEWER reply: null when empty, else the version and the encoded value. */
    static Reply readReply(byte[] reply) {
        if (reply.length == 0) {
            return null;
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(reply));
            return new Reply(in.readLong(), readBytes(in));
        } catch (IOException e) {
            throw new UncheckedIOException("malformed reply of " + reply.length + " bytes", e);
        }
    }

    record Reply(long version, byte[] value) {}

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] command(byte op, String key, Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(op);
            out.writeUTF(key);
            body.write(out);
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
        return bytes.toByteArray();
    }
}
