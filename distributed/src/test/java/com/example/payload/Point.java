package com.example.payload;

import java.io.Serializable;

/** A user value class outside every default allow-list pattern. */
public record Point(int x, int y) implements Serializable {}
