Console.WriteLine(TrimUnsafeLibrary.TypeByName.MethodCount(args.Length > 0 ? args[0] : "System.String"));
