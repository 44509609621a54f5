package dev.tessera.sharedmem.store;

import dev.tessera.sharedmem.internal.FileTrust;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of store index files. Stateless and thread-safe.
 *
 * <p>A store index file is named {@link #PREFIX}, the numeric uid of the user who created the store, a dash and
 * the store name ({@code tessera-store-1000-experiment}): each user has a store namespace of their own, and a
 * file in a user's namespace that another user planted is refused (see {@code internal.FileTrust}). The names
 * never collide with segment names ({@code tessera-} and 32 hex digits), so the segment layer leaves them to the
 * store (see {@link StoreSegmentKind#ownsFileName}).
 */
final class StoreFiles {
    static final String PREFIX = "tessera-store-";
    /** The longest store name, in characters. */
    static final int MAX_NAME_LENGTH = 32;

    private static final String NAME_REGEX = "[A-Za-z0-9][A-Za-z0-9._-]{0,31}";
    private static final Pattern NAME = Pattern.compile(NAME_REGEX);
    private static final Pattern FILE_NAME = Pattern.compile("tessera-store-(\\d{1,10}|x)-(" + NAME_REGEX + ")");

    private StoreFiles() {}

    /** Whether {@code name} is a valid store name: 1 to 32 of {@code [A-Za-z0-9._-]}, not starting with . or -. */
    static boolean isStoreName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** The index file name of this user's store {@code storeName} (which must be valid). */
    static String fileName(String storeName) {
        return fileName(FileTrust.selfUid(), storeName);
    }

    /** The index file name of user {@code uid}'s store {@code storeName} (which must be valid). */
    static String fileName(int uid, String storeName) {
        if (!isStoreName(storeName)) {
            throw new IllegalArgumentException("store name '" + storeName + "' (expected 1.." + MAX_NAME_LENGTH
                    + " characters of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
        }
        return PREFIX + (uid >= 0 ? Integer.toString(uid) : "x") + "-" + storeName;
    }

    /** Whether {@code fileName} names a store index file (of any user). */
    static boolean isFileName(String fileName) {
        return fileName != null && FILE_NAME.matcher(fileName).matches();
    }

    /** The store name in a store index file name, or null if it is not one. */
    static String storeNameOf(String fileName) {
        if (fileName == null) {
            return null;
        }
        Matcher m = FILE_NAME.matcher(fileName);
        return m.matches() ? m.group(2) : null;
    }
}
