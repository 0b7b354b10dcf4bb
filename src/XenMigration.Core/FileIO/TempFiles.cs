using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;

namespace XenMigration.FileIO
{
    /// <summary>
    /// The temporary files of writes in progress. A write that is abandoned deletes its own; this
    /// registry also deletes them when the process is told to end (SIGTERM from a service manager or
    /// kill, SIGHUP when the terminal goes away), which would otherwise leave them behind. The signal
    /// handlers use .NET's PosixSignalRegistration where the runtime has it (.NET 6 and later; it is
    /// looked up at run time because this library targets .NET Standard 2.0); after the files are
    /// deleted the signal's default action (ending the process) goes on.
    /// </summary>
    internal static class TempFiles
    {
        private static readonly HashSet<string> s_live = new HashSet<string>(StringComparer.Ordinal);
        private static readonly List<IDisposable> s_registrations = new List<IDisposable>();
        private static bool s_registered;

        /// <summary>Whether signal handlers could be registered here (for tests and messages).</summary>
        public static bool HandlesSignals { get; private set; }

        public static void Track(string path)
        {
            lock (s_live)
            {
                s_live.Add(path);
                if (!s_registered)
                {
                    s_registered = true;
                    Register("SIGTERM");
                    Register("SIGHUP");
                }
            }
        }

        public static void Forget(string path)
        {
            lock (s_live)
            {
                s_live.Remove(path);
            }
        }

        /// <summary>Stops tracking <paramref name="path"/> and deletes it.</summary>
        public static void Delete(string path)
        {
            Forget(path);
            TryDelete(path);
        }

        private static void DeleteAll()
        {
            string[] paths;
            lock (s_live)
            {
                paths = new string[s_live.Count];
                s_live.CopyTo(paths);
                s_live.Clear();
            }

            foreach (string path in paths)
            {
                TryDelete(path);
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        // PosixSignalRegistration.Create(PosixSignal.X, Action<PosixSignalContext>), found by reflection.
        private static void Register(string signal)
        {
            try
            {
                Type? registration = Type.GetType("System.Runtime.InteropServices.PosixSignalRegistration, System.Runtime.InteropServices");
                Type? signalType = Type.GetType("System.Runtime.InteropServices.PosixSignal, System.Runtime.InteropServices");
                Type? contextType = Type.GetType("System.Runtime.InteropServices.PosixSignalContext, System.Runtime.InteropServices");
                if (registration is null || signalType is null || contextType is null)
                {
                    return;
                }

                Type handlerType = typeof(Action<>).MakeGenericType(contextType);
                MethodInfo onSignal = typeof(TempFiles).GetMethod(nameof(OnSignal), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(contextType);
                Delegate handler = onSignal.CreateDelegate(handlerType);
                MethodInfo? create = registration.GetMethod("Create", new[] { signalType, handlerType });
                if (create?.Invoke(null, new[] { Enum.Parse(signalType, signal), handler }) is IDisposable r)
                {
                    s_registrations.Add(r);   // kept: a collected registration unregisters itself
                    HandlesSignals = true;
                }
            }
            catch (Exception e) when (e is TargetInvocationException || e is PlatformNotSupportedException || e is ArgumentException || e is MissingMethodException)
            {
                // No signal handling here (Windows PowerShell, or a platform without POSIX signals).
            }
        }

        private static void OnSignal<TContext>(TContext context) => DeleteAll();
    }
}
