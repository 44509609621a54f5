package dev.tessera.sharedmem.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AllowPatternsTest {
    @Test
    void acceptsClassPackageTreeAndPrefixForms() {
        assertEquals(List.of("com.example.Task", "com.example.*", "com.example.**", "com.example.Task*",
                "com.example.Outer$Inner", "Task"), AllowPatterns.check("com.example.Task", " com.example.* ",
                "com.example.**", "com.example.Task*", "com.example.Outer$Inner", "Task"));
    }

    @Test
    void refusesPatternsThatWidenOrBreakTheFilter() {
        for (String bad : new String[] {null, "", " ", "*", "**", ".**", "!com.x.*", "a;b", "a,b", "maxdepth=5",
                "java.base/*", "com..x", "com.x.", "com x", "com.x.***", "com.*.x"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> AllowPatterns.check(bad), String.valueOf(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> AllowPatterns.check((String[]) null));
    }

    @Test
    void packageTreeOfNamesThePackageOrTheClass() {
        assertEquals("java.util.**", AllowPatterns.packageTreeOf(java.util.List.class));
        assertEquals("java.lang.**", AllowPatterns.packageTreeOf(String[][].class));
        assertNull(AllowPatterns.packageTreeOf(int.class));
        assertNull(AllowPatterns.packageTreeOf(int[].class));
        Runnable lambda = () -> { };
        assertTrue(lambda.getClass().isHidden());
        assertEquals("dev.tessera.sharedmem.internal.**", AllowPatterns.packageTreeOf(lambda.getClass()));
    }

    @Test
    void allowOnlyEndsWithRejectAll() {
        assertEquals("a.**;b.C;!*", AllowPatterns.allowOnly(List.of("a.**", "b.C")));
    }
}
