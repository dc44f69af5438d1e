/// A stable insertion sort, for the few short lists the agent orders: the members of a DER SET OF,
/// a keystore manifest's files, network interface names.
///
/// The standard library's sort is a merge sort, specialised anew for each element type it meets;
/// each copy costs about 3 KB of the static binary, where this one costs a few hundred bytes. Its
/// quadratic time is no concern at these lengths, and none of them comes from the network: the
/// SET OF members are our own attributes, the manifest lists our own files.
extension Array {
    public func insertionSorted(by precedes: (Element, Element) -> Bool) -> [Element] {
        var sorted = self
        var index = 1
        while index < sorted.count {
            let item = sorted[index]
            var position = index
            while position > 0 && precedes(item, sorted[position - 1]) {
                sorted[position] = sorted[position - 1]
                position -= 1
            }
            sorted[position] = item
            index += 1
        }
        return sorted
    }
}
