package dev.tessera.sharedmem.store;

/** Store index file names for tests outside this package (the naming itself is package-private). */
public final class StoreTestFiles {
    private StoreTestFiles() {}

    /** The index file name of this user's store {@code name}. */
    public static String fileName(String name) {
        return StoreFiles.fileName(name);
    }

    /** The index file name of user {@code uid}'s store {@code name}. */
    public static String fileName(int uid, String name) {
        return StoreFiles.fileName(uid, name);
    }
}
