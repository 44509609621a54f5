/** What the {@code ./tessera} commands share and users do not call: the wording of their one-line errors. */
package dev.tessera.tools.internal;
