// Ctrl-C for one-shot commands: SIGINT/SIGTERM set a flag that long loops check, so a command
// stops between two units of work, rolls back its transaction and releases its services in
// order, instead of dying half-way.
#pragma once

namespace m::core {

/// Installs the SIGINT/SIGTERM handlers (idempotent).
void install_interrupt_handler();

/// Whether SIGINT or SIGTERM arrived.
bool interrupted() noexcept;

/// Throws Error{cancelled} when interrupted.
void throw_if_interrupted();

} // namespace m::core
