package com.example.other;

import java.io.Serializable;

/** A serializable class from a package no task in the tests comes from: the allow-list must reject it. */
public record Foreign(String what) implements Serializable {}
