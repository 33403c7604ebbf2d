namespace TrimUnsafeLibrary;

/// <summary>Trim-unsafe on purpose: a type looked up by a name known only at run time (ILC reports IL2057).</summary>
public static class TypeByName
{
    public static int MethodCount(string name) => Type.GetType(name)?.GetMethods().Length ?? 0;
}
