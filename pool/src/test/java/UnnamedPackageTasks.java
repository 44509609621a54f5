import dev.tessera.pool.SerializableFunction;
import java.io.Serializable;

/** Task code in the unnamed package, as a single-file program or a quick script would have it. */
public final class UnnamedPackageTasks {
    private UnnamedPackageTasks() {}

    /** A result type nested in the task's class. */
    public record Doubled(int value) implements Serializable {}

    /** A lambda whose capturing class is in the unnamed package, returning a type of that package. */
    public static SerializableFunction<Integer, Doubled> doubler() {
        return x -> new Doubled(x * 2);
    }
}
