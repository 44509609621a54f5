package com.example.payload;

import dev.tessera.distributed.RemoteFunction;
import java.util.ArrayList;
import java.util.List;

/** A user's function class whose result nests its own package's values: {@code n -> [(1,1), ..., (n,n)]}. */
public final class Diagonal implements RemoteFunction<Integer, List<Point>> {
    private static final long serialVersionUID = 1L;

    @Override
    public List<Point> apply(Integer n) {
        List<Point> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(new Point(i, i));
        }
        return out;
    }
}
