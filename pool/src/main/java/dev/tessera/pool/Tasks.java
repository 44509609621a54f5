package dev.tessera.pool;

import dev.tessera.pool.internal.Task;

/**
 * Adapters from the public task shapes to the engine's {@link Task}. Records rather than lambdas, so a
 * worker JVM deserializes them without the lambda bootstrap.
 */
final class Tasks {
    private Tasks() {}

    record OfFunction(SerializableFunction<Object, Object> fn) implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            return fn.apply(arg);
        }
    }

    record OfCallable() implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            return ((SerializableCallable<?>) arg).call();
        }
    }

    record OfStar(StarFunction<?> fn) implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            return fn.apply((Object[]) arg);
        }
    }

    record OfContext(ContextFunction<Object, Object, Object> fn) implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            return fn.apply(context, arg);
        }
    }

    record OfContextStar(ContextStarFunction<Object, Object> fn) implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            return fn.apply(context, (Object[]) arg);
        }
    }

    record OfInitializer(Initializer init) implements Task {
        @Override
        public Object call(Object context, Object arg) throws Exception {
            init.init((Object[]) arg);
            return null;
        }
    }

    /** Shared by every callable-based call, so a worker JVM receives it once. */
    static final Task CALLABLE = new OfCallable();

    @SuppressWarnings("unchecked")
    static Task of(SerializableFunction<?, ?> fn) {
        return new OfFunction((SerializableFunction<Object, Object>) fn);
    }

    @SuppressWarnings("unchecked")
    static Task ofContext(ContextFunction<?, ?, ?> fn) {
        return new OfContext((ContextFunction<Object, Object, Object>) fn);
    }

    @SuppressWarnings("unchecked")
    static Task ofContextStar(ContextStarFunction<?, ?> fn) {
        return new OfContextStar((ContextStarFunction<Object, Object>) fn);
    }

    static Task ofStar(StarFunction<?> fn) {
        return new OfStar(fn);
    }

    static Task ofInitializer(Initializer init) {
        return init == null ? null : new OfInitializer(init);
    }
}
