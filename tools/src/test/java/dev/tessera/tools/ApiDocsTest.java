package dev.tessera.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.doctree.DocCommentTree;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.ModifiersTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.DocTrees;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.lang.model.element.Modifier;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Javadoc on every public member of the API packages (every package of a library module but {@code .internal}),
 * as the architecture issue asks: each public or protected type, constructor, method and field that a user can
 * reach has a doc comment, and each API package a {@code package-info.java} with one. javac's doclint checks what
 * the comments say at compile time; its "missing" group is off there because it also demands {@code @param} and
 * {@code @return} on every one-line summary, so the presence of the comments is checked here.
 */
class ApiDocsTest {
    /** The library modules, relative to the repository root; a module not present yet is skipped. */
    static final List<String> LIBRARIES = List.of("assigner", "sharedmem", "pool", "training", "queue", "distributed");

    @Test
    void everyPublicMemberOfAnApiPackageHasADocComment() throws IOException {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (String module : LIBRARIES) {
            Path root = Path.of("..", module, "src", "main", "java").toAbsolutePath().normalize();
            if (Files.isDirectory(root)) {
                checked += check(root, missing);
            }
        }
        assertTrue(checked > 100, "only " + checked + " API members found: is the source layout still " + LIBRARIES + "?");
        assertEquals(List.of(), missing, missing.size() + " public API members have no Javadoc");
    }

    private static int check(Path root, List<String> missing) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> p.toString().endsWith(".java") && !isInternal(root.relativize(p))).sorted().toList();
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
            JavacTask task = (JavacTask) javac.getTask(null, fm, d -> { }, List.of("-proc:none"), null,
                    fm.getJavaFileObjectsFromPaths(files));
            DocTrees docs = DocTrees.instance(task);
            int[] checked = {0};
            for (CompilationUnitTree unit : task.parse()) {
                String file = root.relativize(Path.of(unit.getSourceFile().toUri())).toString();
                if (file.endsWith("package-info.java")) {
                    checked[0]++;
                    if (docs.getDocCommentTree(new TreePath(new TreePath(unit), unit.getPackage())) == null) {
                        missing.add(file + ": the package has no comment");
                    }
                    continue;
                }
                new ApiScanner(docs, unit, file, missing, checked).scan(unit, null);
            }
            Set<Path> dirs = new java.util.TreeSet<>();
            files.forEach(f -> dirs.add(f.getParent()));
            for (Path dir : dirs) {
                if (!Files.exists(dir.resolve("package-info.java"))) {
                    missing.add(root.relativize(dir) + ": no package-info.java");
                }
            }
            return checked[0];
        }
    }

    private static boolean isInternal(Path relative) {
        for (Path part : relative) {
            if (part.toString().equals("internal")) {
                return true;
            }
        }
        return false;
    }

    /** Walks the public types of one file; does not descend into what a user cannot reach. */
    private static final class ApiScanner extends TreePathScanner<Void, Void> {
        private final DocTrees docs;
        private final CompilationUnitTree unit;
        private final String file;
        private final List<String> missing;
        private final int[] checked;

        ApiScanner(DocTrees docs, CompilationUnitTree unit, String file, List<String> missing, int[] checked) {
            this.docs = docs;
            this.unit = unit;
            this.file = file;
            this.missing = missing;
            this.checked = checked;
        }

        @Override
        public Void visitClass(ClassTree c, Void unused) {
            if (c.getSimpleName().isEmpty() || !visible(c.getModifiers(), true)) {
                return null; // anonymous or not reachable: nothing inside is API
            }
            require(c.getSimpleName().toString());
            return super.visitClass(c, unused);
        }

        @Override
        public Void visitMethod(MethodTree m, Void unused) {
            boolean isOverride = m.getModifiers().getAnnotations().stream()
                    .anyMatch(a -> a.getAnnotationType().toString().equals("Override"));
            boolean generated = m.getName().contentEquals("<init>") && unit.getLineMap() != null
                    && docs.getSourcePositions().getStartPosition(unit, m) < 0;
            if (visible(m.getModifiers(), false) && !isOverride && !generated) {
                require(m.getName().contentEquals("<init>") ? "constructor" : m.getName() + "()");
            }
            return null; // local and anonymous classes in a body are not API
        }

        @Override
        public Void visitVariable(VariableTree v, Void unused) {
            if (getCurrentPath().getParentPath().getLeaf() instanceof ClassTree && visible(v.getModifiers(), false)) {
                require(v.getName().toString());
            }
            return null;
        }

        /** Public or protected; interface members are implicitly public. Records' components are not scanned. */
        private boolean visible(ModifiersTree mods, boolean type) {
            Set<Modifier> flags = mods.getFlags();
            if (flags.contains(Modifier.PRIVATE)) {
                return false;
            }
            Tree parent = getCurrentPath().getParentPath().getLeaf();
            boolean inInterface = parent instanceof ClassTree p
                    && (p.getKind() == Tree.Kind.INTERFACE || p.getKind() == Tree.Kind.ANNOTATION_TYPE);
            boolean enumConstant = parent instanceof ClassTree p2 && p2.getKind() == Tree.Kind.ENUM
                    && getCurrentPath().getLeaf() instanceof VariableTree;
            return flags.contains(Modifier.PUBLIC) || flags.contains(Modifier.PROTECTED) || inInterface || enumConstant;
        }

        private void require(String what) {
            checked[0]++;
            DocCommentTree doc = docs.getDocCommentTree(getCurrentPath());
            if (doc == null || doc.getFullBody().isEmpty() && doc.getBlockTags().isEmpty()) {
                long line = unit.getLineMap().getLineNumber(docs.getSourcePositions().getStartPosition(unit, getCurrentPath().getLeaf()));
                missing.add(file + ":" + line + " " + what);
            }
        }
    }
}
