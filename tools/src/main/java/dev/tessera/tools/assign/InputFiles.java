package dev.tessera.tools.assign;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads input files for the CLI within fixed limits, so that no file (too large, too deep, not UTF-8, a
 * directory, a device) can exhaust memory or the stack or escape as a stack trace: every problem is a {@link
 * GraphFormatException} that names the file, the place and the limit. Stateless and thread-safe.
 *
 * <p>The limits are far above any real graph (the bundled graphs are 4–27 KB, depth 3, names under 40 characters)
 * and well below what would hurt the JVM. Jackson's own defaults (depth 1,000, strings of 20 MB, unlimited
 * document length and token count) are replaced by these explicitly.
 */
final class InputFiles {
    /** Largest file read, in bytes (also Jackson's maxDocumentLength, in characters). */
    static final long MAX_FILE_BYTES = 32L << 20;
    /** Deepest nesting of arrays and objects; the graph format needs 3 ({@code distance}, or a model object). */
    static final int MAX_DEPTH = 16;
    /** Longest string value (a model, device or option name), in characters. */
    static final int MAX_STRING_CHARS = 4096;
    /** Longest field name, in characters; the format's longest is {@code complexityMatchWeight} (21). */
    static final int MAX_NAME_CHARS = 256;
    /** Longest number literal, in characters; a double needs at most 24. */
    static final int MAX_NUMBER_CHARS = 100;
    /** Most JSON tokens in one file: about 400,000 models with a connection each. */
    static final long MAX_TOKENS = 4_000_000;
    /**
     * Largest number a size, memory, volume, complexity, power or distance may take: sums over a million models
     * then stay within the float range of the gradient phase, which at 1e308 returns NaN.
     */
    static final double MAX_VALUE = 1e30;
    /** How messages name the accepted range of a size, memory, volume or other non-negative input number. */
    static final String RANGE = "a number from 0 to " + MAX_VALUE;

    /** Whether {@code v} is a non-negative input number within {@link #MAX_VALUE} (false for NaN). */
    static boolean inRange(double v) {
        return v >= 0 && v <= MAX_VALUE;
    }

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxDocumentLength(MAX_FILE_BYTES)
            .maxNestingDepth(MAX_DEPTH)
            .maxStringLength(MAX_STRING_CHARS)
            .maxNameLength(MAX_NAME_CHARS)
            .maxNumberLength(MAX_NUMBER_CHARS)
            .maxTokenCount(MAX_TOKENS)
            .build();

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(LIMITS)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private InputFiles() {}

    /** The file's text: at most {@link #MAX_FILE_BYTES} bytes of strict UTF-8 (a leading byte-order mark is dropped). */
    static String readText(Path file) {
        return decodeUtf8(file.toString(), readBytes(file));
    }

    /** Reads at most {@link #MAX_FILE_BYTES}: the size is checked before reading, and the read is bounded too. */
    static byte[] readBytes(Path file) {
        if (Files.isDirectory(file)) {
            throw new GraphFormatException(file + ": is a directory (expected a graph file)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file); // 0 for devices and pipes, hence the bounded read below
            if (size > MAX_FILE_BYTES) {
                throw tooLarge(file, size + " bytes");
            }
            byte[] bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
            if (bytes.length > MAX_FILE_BYTES) {
                throw tooLarge(file, "more than " + MAX_FILE_BYTES + " bytes");
            }
            return bytes;
        } catch (NoSuchFileException e) {
            throw new GraphFormatException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new GraphFormatException(file + ": permission denied (cannot read the file)");
        } catch (IOException e) {
            throw new GraphFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static GraphFormatException tooLarge(Path file, String size) {
        return new GraphFormatException(file + ": file is " + size + ", over the limit of " + MAX_FILE_BYTES
                + " bytes (" + (MAX_FILE_BYTES >> 20) + " MiB; real graph files are well under 1 MiB)");
    }

    /** Strict UTF-8: the first invalid byte is named with its offset and line. */
    static String decodeUtf8(String source, byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            throw new GraphFormatException(String.format(Locale.ROOT, "%s: line %d: not UTF-8 text (byte 0x%02X at offset %d);"
                    + " save the file as UTF-8", source, lineOf(bytes, at), bytes[at] & 0xFF, at));
        }
        out.flip();
        String text = out.toString();
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    private static int lineOf(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n') {
                line++;
            }
        }
        return line;
    }

    /**
     * Parses JSON text within the limits; {@code source} names the input in messages. Returns null for empty
     * input (only whitespace). Duplicate keys and content after the top-level value are errors.
     */
    static JsonNode readTree(String source, String text) {
        try (JsonParser p = MAPPER.createParser(text)) {
            try {
                return MAPPER.readTree(p);
            } catch (StreamConstraintsException e) {
                // It carries no location: the parser's is where the limit was crossed.
                throw new GraphFormatException(source + ": " + where(p.currentLocation()) + limitMessage(e), e);
            } catch (JsonProcessingException e) {
                JsonLocation at = e.getLocation() != null ? e.getLocation() : p.currentLocation();
                throw new GraphFormatException(source + ": " + where(at) + "invalid JSON: " + e.getOriginalMessage(), e);
            }
        } catch (IOException e) { // closing a parser over a String; never expected
            throw new GraphFormatException(source + ": cannot parse: " + e.getMessage(), e);
        }
    }

    private static String where(JsonLocation at) {
        return at == null || at.getLineNr() < 1 ? "" : "line " + at.getLineNr() + ": ";
    }

    /** Names the limit that was crossed, in the terms of the graph format. */
    private static String limitMessage(StreamConstraintsException e) {
        String m = String.valueOf(e.getOriginalMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("nesting depth")) {
            return "nested deeper than the limit of " + MAX_DEPTH + " arrays and objects (maxNestingDepth; the graph format needs 3)";
        } else if (m.contains("string value length")) {
            return "a string longer than the limit of " + MAX_STRING_CHARS + " characters (maxStringLength; names are short)";
        } else if (m.contains("name length")) {
            return "a field name longer than the limit of " + MAX_NAME_CHARS + " characters (maxNameLength)";
        } else if (m.contains("number value length")) {
            return "a number longer than the limit of " + MAX_NUMBER_CHARS + " characters (maxNumberLength)";
        } else if (m.contains("document length")) {
            return "longer than the limit of " + MAX_FILE_BYTES + " characters (maxDocumentLength)";
        } else if (m.contains("token count")) {
            return "more than the limit of " + MAX_TOKENS + " JSON tokens (maxTokenCount)";
        }
        return "over a parser limit: " + e.getOriginalMessage();
    }
}
