package dev.tessera.sharedmem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.sharedmem.testing.ShmLeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** 10,000 live tensors in 10,000 segments do not hold 10,000 file descriptors. */
@ExtendWith(ShmLeakCheck.class)
class ManySegmentsTest {

    @Test
    void tenThousandTensorsDoNotExhaustFileDescriptors() throws Exception {
        long before = openFileDescriptors();
        List<SharedTensor> tensors = new ArrayList<>();
        try {
            for (int i = 0; i < 10_000; i++) {
                SharedTensor t = SharedTensor.allocate(DType.INT32, 4);
                t.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, 0, i);
                tensors.add(t);
            }
            long during = openFileDescriptors();
            assertTrue(during - before < 50, "fds before " + before + ", with 10,000 live tensors " + during);
            assertEquals(10_000, ShmLeakCheck.fileCount());
            assertEquals(9_999, tensors.getLast().segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, 0));
        } finally {
            tensors.forEach(SharedTensor::close);
        }
    }

    private static long openFileDescriptors() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
