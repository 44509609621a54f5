package dev.tessera.distributed.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This host's identity, so that members on one host find each other: the kernel's boot id and the host name (two
 * containers that share a kernel but not {@code /dev/shm} differ by host name; a rebooted host gets a new boot id).
 * Stateless; the value is computed once per JVM.
 */
public final class HostId {
    private static final String CURRENT = compute();

    private HostId() {}

    /** This host's identity, never null. */
    public static String current() {
        return CURRENT;
    }

    private static String compute() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip() + "@" + host;
        } catch (IOException e) {
            // no boot id (not Linux): the host name alone, or this process alone if even that is unknown
            return host.equals("unknown-host") ? host + "-" + ProcessHandle.current().pid() : host;
        }
    }
}
