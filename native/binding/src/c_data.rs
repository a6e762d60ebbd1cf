//! The Arrow C Data Interface at the JS boundary.
//!
//! apache-arrow JS has no C Data exporter, so TS hands us a plain description
//! of each array (`src/batch/c-data.ts`: format, flags, length, offset, null
//! count, buffers, children, dictionary) in two halves. The schema half
//! (formats, names, flags) is read once per stream into a `SharedSchema`.
//! The array half of every batch comes packed (`packArrays`): one
//! `Float64Array` of geometry and the few JS buffers it points into, so a
//! batch crosses the boundary in a handful of napi calls rather than ~15 per
//! column. `import_batch` lays those JS buffers out in
//! `ArrowSchema`/`ArrowArray` structs whose memory and release callbacks
//! belong to this module, and imports them with arrow-rs `ffi`.
//! `export_array` goes the other way: it exports an arrow-rs array through
//! `FFI_ArrowArray`/`FFI_ArrowSchema` and describes that C struct to JS.
//!
//! Invariants:
//! - a description's geometry is never trusted: every buffer region must lie
//!   inside the JS buffer it names, and before arrow-rs reads a buffer,
//!   `conform` checks that the region holds every byte its format, length
//!   and offsets need, so a lying description is an error, never a read past
//!   JS memory;
//! - buffers that are not aligned for their type (an IPC body at an odd
//!   offset of its gRPC message) are copied into aligned memory that the
//!   array's release frees; all others are used in place;
//! - imported arrays point into JS memory without copying; they are only
//!   valid while the packed batch (its backings) is reachable, so every entry
//!   point that imports drops the imported arrays before it returns to JS, or
//!   holds a reference to the packed batch until it has dropped them
//!   (evalArrow, which evaluates on the engine's threads);
//! - every struct we allocate is freed exactly once, by its release callback
//!   (arrow-rs calls it when the last imported buffer is dropped);
//! - exported buffers are copied into JS-owned memory, so nothing on the JS
//!   side points into Rust memory after the call.

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::Arc;

use arrow_array::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{make_array, Array, ArrayRef, RecordBatch, StructArray};
use arrow_data::ArrayData;

use crate::validate::validate_batch;
use napi::{
    Env, JsObject, JsTypedArray, JsTypedArrayValue, JsUnknown, Result, TypedArrayType, ValueType,
};

/// `ArrowSchema` exactly as the C Data Interface lays it out.
#[repr(C)]
struct CSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut CSchema,
    dictionary: *mut CSchema,
    release: Option<unsafe extern "C" fn(*mut CSchema)>,
    private_data: *mut c_void,
}

/// `ArrowArray` exactly as the C Data Interface lays it out.
#[repr(C)]
struct CArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut CArray,
    dictionary: *mut CArray,
    release: Option<unsafe extern "C" fn(*mut CArray)>,
    private_data: *mut c_void,
}

/// What a `CSchema` owns: its strings and children, freed by `release_schema`.
struct SchemaPrivate {
    _format: CString,
    _name: CString,
    children: Vec<*mut CSchema>,
    dictionary: *mut CSchema,
}

/// What a `CArray` owns: the pointer tables, the byte lengths of the JS
/// buffers, and aligned copies of misaligned ones, freed by `release_array`.
struct ArrayPrivate {
    buffers: Vec<*const c_void>,
    lengths: Vec<usize>,
    aligned: Vec<Vec<u64>>,
    children: Vec<*mut CArray>,
    dictionary: *mut CArray,
}

unsafe extern "C" fn release_schema(schema: *mut CSchema) {
    if schema.is_null() {
        return;
    }
    // SAFETY: `schema` was built by `build_schema`, whose private_data is a
    // leaked Box<SchemaPrivate>; the spec guarantees release runs once.
    let private = Box::from_raw((*schema).private_data as *mut SchemaPrivate);
    for child in private.children {
        free_schema(child);
    }
    if !private.dictionary.is_null() {
        free_schema(private.dictionary);
    }
    (*schema).release = None;
}

/// Releases (if still live) and frees a child schema allocated by `build_schema`.
unsafe fn free_schema(schema: *mut CSchema) {
    // SAFETY: children are leaked Boxes owned by their parent's private data.
    if let Some(release) = (*schema).release {
        release(schema);
    }
    drop(Box::from_raw(schema));
}

unsafe extern "C" fn release_array(array: *mut CArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: as for schemas: private_data is a leaked Box<ArrayPrivate>.
    let private = Box::from_raw((*array).private_data as *mut ArrayPrivate);
    for child in private.children {
        free_array(child);
    }
    if !private.dictionary.is_null() {
        free_array(private.dictionary);
    }
    (*array).release = None;
}

unsafe fn free_array(array: *mut CArray) {
    // SAFETY: children are leaked Boxes owned by their parent's private data.
    if let Some(release) = (*array).release {
        release(array);
    }
    drop(Box::from_raw(array));
}

fn invalid(message: impl Into<String>) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, message.into())
}

fn c_string(text: String, what: &str) -> Result<CString> {
    CString::new(text)
        .map_err(|_| invalid(format!("C Data description: {what} contains a NUL byte")))
}

/// Builds the schema struct of one described array, recursively: its
/// children and its dictionary (null when absent) each leaked into a Box
/// that its parent's release frees.
fn build_schema(description: &JsObject) -> Result<CSchema> {
    let format = c_string(
        description.get_named_property::<String>("format")?,
        "format",
    )?;
    let name = c_string(description.get_named_property::<String>("name")?, "name")?;
    let flags: f64 = description.get_named_property("flags")?;
    let children_js: JsObject = description.get_named_property("children")?;
    let n_children = children_js.get_array_length()?;
    let mut children = Vec::with_capacity(n_children as usize);
    for i in 0..n_children {
        let child: JsObject = children_js.get_element(i)?;
        children.push(Box::into_raw(Box::new(build_schema(&child)?)));
    }
    let dictionary_js: JsUnknown = description.get_named_property("dictionary")?;
    let dictionary = if dictionary_js.get_type()? == ValueType::Object {
        // SAFETY: the type was checked just above.
        let dictionary_object: JsObject = unsafe { dictionary_js.cast() };
        Box::into_raw(Box::new(build_schema(&dictionary_object)?))
    } else {
        ptr::null_mut()
    };
    let mut private = Box::new(SchemaPrivate {
        _format: format,
        _name: name,
        children,
        dictionary,
    });
    Ok(CSchema {
        format: private._format.as_ptr(),
        name: private._name.as_ptr(),
        metadata: ptr::null(),
        flags: flags as i64,
        n_children: private.children.len() as i64,
        children: private.children.as_mut_ptr(),
        dictionary: private.dictionary,
        release: Some(release_schema),
        private_data: Box::into_raw(private) as *mut c_void,
    })
}

/// The array half of a batch description as `packArrays` lays it out: per
/// array, in pre-order (the array, its children, then its dictionary),
/// `length, null count, offset, children, has dictionary, buffers`, then
/// `backing, byte offset, byte length` for each buffer (backing -1: absent).
/// A backing is an index into the JS buffers the batch was packed with.
struct PackedArrays<'a> {
    geometry: &'a [f64],
    at: usize,
    /// Start and byte length of each backing JS buffer.
    backings: Vec<(*const u8, usize)>,
}

impl PackedArrays<'_> {
    /// The next number, which must be an integer in `min..=2^53`.
    fn next(&mut self, what: &str, min: f64) -> Result<i64> {
        let value = self.geometry.get(self.at).copied().ok_or_else(|| {
            invalid(format!(
                "packed C Data geometry ends before the {what} of an array"
            ))
        })?;
        self.at += 1;
        // In range first, so that the cast is exact exactly when `value` is an integer.
        if !(value >= min && value <= 9_007_199_254_740_992.0 && value as i64 as f64 == value) {
            return Err(invalid(format!(
                "packed C Data geometry: {what} {value} is not an integer of at least {min}"
            )));
        }
        Ok(value as i64)
    }

    fn next_usize(&mut self, what: &str) -> Result<usize> {
        self.next(what, 0.0).map(|v| v as usize)
    }

    /// The pointer and byte length of the next buffer (null and 0 when absent).
    fn next_buffer(&mut self) -> Result<(*const c_void, usize)> {
        let backing = self.next("buffer backing", -1.0)?;
        let offset = self.next_usize("buffer offset")?;
        let length = self.next_usize("buffer length")?;
        if backing < 0 {
            return Ok((ptr::null(), 0));
        }
        let &(start, size) = self.backings.get(backing as usize).ok_or_else(|| {
            invalid(format!(
                "packed C Data: buffer backing {backing} of {}",
                self.backings.len()
            ))
        })?;
        if offset.checked_add(length).is_none_or(|end| end > size) {
            return Err(invalid(format!(
                "packed C Data: buffer {offset}+{length} lies outside its {size}-byte backing"
            )));
        }
        // SAFETY: offset + length <= size, the backing's byte length.
        Ok((unsafe { start.add(offset) } as *const c_void, length))
    }

    /// Builds the array struct of the next array, shaped as `schema`, its
    /// buffers pointing into the backings.
    ///
    /// SAFETY: `schema` was built by `build_schema`.
    unsafe fn build_array(&mut self, schema: &CSchema) -> Result<CArray> {
        let length = self.next("length", 0.0)?;
        let null_count = self.next("null count", 0.0)?;
        let offset = self.next("offset", 0.0)?;
        let n_children = self.next_usize("child count")?;
        let has_dictionary = self.next("dictionary flag", 0.0)? != 0;
        if Ok(n_children) != usize::try_from(schema.n_children)
            || has_dictionary == schema.dictionary.is_null()
        {
            return Err(invalid(
                "packed C Data: an array's children or dictionary differ from its schema's",
            ));
        }
        let n_buffers = self.next_usize("buffer count")?;
        if n_buffers > 3 {
            return Err(invalid(format!(
                "packed C Data: an array with {n_buffers} buffers"
            )));
        }
        let mut buffers = Vec::with_capacity(n_buffers);
        let mut lengths = Vec::with_capacity(n_buffers);
        for _ in 0..n_buffers {
            let (pointer, length) = self.next_buffer()?;
            buffers.push(pointer);
            lengths.push(length);
        }
        // The children built so far are freed if a later child or the dictionary fails.
        let mut children = Vec::with_capacity(n_children);
        let mut nested = || -> Result<*mut CArray> {
            for i in 0..n_children {
                // SAFETY: build_schema made n_children valid child pointers.
                let child = self.build_array(&**schema.children.add(i))?;
                children.push(Box::into_raw(Box::new(child)));
            }
            Ok(if has_dictionary {
                Box::into_raw(Box::new(self.build_array(&*schema.dictionary)?))
            } else {
                ptr::null_mut()
            })
        };
        let dictionary = match nested() {
            Ok(dictionary) => dictionary,
            Err(error) => {
                for built in children {
                    free_array(built);
                }
                return Err(error);
            }
        };
        let mut private = Box::new(ArrayPrivate {
            buffers,
            lengths,
            aligned: Vec::new(),
            children,
            dictionary,
        });
        Ok(CArray {
            length,
            null_count,
            offset,
            n_buffers: private.buffers.len() as i64,
            n_children: private.children.len() as i64,
            buffers: private.buffers.as_mut_ptr(),
            children: private.children.as_mut_ptr(),
            dictionary: private.dictionary,
            release: Some(release_array),
            private_data: Box::into_raw(private) as *mut c_void,
        })
    }
}

/// The elements of a typed array that must be of `kind`; `refusal` says
/// what it must be otherwise.
fn elements<'v, T>(
    value: &'v JsTypedArrayValue,
    kind: TypedArrayType,
    refusal: &str,
) -> Result<&'v [T]>
where
    JsTypedArrayValue: AsRef<[T]>,
{
    // napi-rs panics on a slice of another element type, and the slice of
    // an empty typed array starts at a null pointer.
    if value.typedarray_type != kind {
        return Err(invalid(format!("packed C Data: {refusal}")));
    }
    Ok(if value.length == 0 {
        &[]
    } else {
        value.as_ref()
    })
}

/// Reads a packed batch (`{ geometry: Float64Array, backings: Uint8Array[] }`)
/// into the C array structs of `schema`'s shape.
fn build_packed(packed: &JsObject, schema: &CSchema) -> Result<CArray> {
    // Unchecked: into_value fails on anything but a typed array.
    let geometry_js: JsTypedArray = packed.get_named_property_unchecked("geometry")?;
    let geometry_value = geometry_js.into_value()?;
    let geometry: &[f64] = elements(
        &geometry_value,
        TypedArrayType::Float64,
        "geometry must be a Float64Array",
    )?;
    let backings_js: JsObject = packed.get_named_property("backings")?;
    let n_backings = backings_js.get_array_length()?;
    let mut backings = Vec::with_capacity(n_backings as usize);
    for i in 0..n_backings {
        let backing: JsTypedArray = backings_js.get_element(i)?;
        let value = backing.into_value()?;
        let bytes: &[u8] = elements(
            &value,
            TypedArrayType::Uint8,
            "backings must be Uint8Arrays",
        )?;
        backings.push((bytes.as_ptr(), bytes.len()));
    }
    let mut reader = PackedArrays {
        geometry,
        at: 0,
        backings,
    };
    // SAFETY: `schema` was built by build_schema.
    let array = unsafe { reader.build_array(schema)? };
    if reader.at != geometry.len() {
        // SAFETY: the structs are ours and unread; releasing frees them.
        let mut array = array;
        unsafe {
            if let Some(release) = array.release {
                release(&mut array);
            }
        }
        return Err(invalid(
            "packed C Data: geometry continues past the batch's arrays",
        ));
    }
    Ok(array)
}

/// The C schema of a record batch, built once and shared by every batch of
/// its stream: rebuilding it from napi property reads (a name, a format and
/// flags per column) cost as much of the JS thread as a small batch's arrays.
/// Never written after it is built.
pub struct SharedSchema(CSchema);

// SAFETY: the tree owns its strings and children and is only read after
// `build`; its release callback runs once, in Drop.
unsafe impl Send for SharedSchema {}
unsafe impl Sync for SharedSchema {}

impl SharedSchema {
    /// The schema part (formats, names, flags) of a described array.
    pub fn build(description: &JsObject) -> Result<SharedSchema> {
        Ok(SharedSchema(build_schema(description)?))
    }
}

impl Drop for SharedSchema {
    fn drop(&mut self) {
        // SAFETY: the release callback is ours and runs this once.
        unsafe {
            if let Some(release) = self.0.release {
                release(&mut self.0);
            }
        }
    }
}

/// The C structs of one packed array, built from JS but not yet read.
///
/// They point into JS memory: the packed batch must stay reachable until the
/// structs are dropped (see the module invariants).
struct Described {
    /// The stream's.
    schema: Arc<SharedSchema>,
    array: CArray,
}

// SAFETY: the structs own their pointer tables, and the JS buffers they point
// into are only read, by whichever thread holds them, while the caller keeps
// the packed batch alive; nothing else reads or writes them meanwhile. A
// shared schema is only read.
unsafe impl Send for Described {}

impl Described {
    fn build(packed: &JsObject, schema: Arc<SharedSchema>) -> Result<Described> {
        let array = build_packed(packed, &schema.0)?;
        Ok(Described { schema, array })
    }

    /// Checks the geometry against the schema, aligns what needs it, and
    /// imports through arrow-rs ffi, unchecked: `validate_batch` must pass before
    /// anything reads values.
    fn import(mut self) -> std::result::Result<ArrayData, String> {
        // SAFETY: both trees were built by build_schema/build_array, and the
        // JS buffers they point into are alive (the caller's invariant).
        // conform checks the buffers against the schema's formats.
        unsafe { conform(&self.schema.0, &mut self.array) }
            .map_err(|e| format!("Arrow C Data description is invalid: {e}"))?;
        // SAFETY: CSchema/CArray have the C Data Interface layout, which is
        // the layout of FFI_ArrowSchema/FFI_ArrowArray (both #[repr(C)]
        // mirrors of the spec). from_raw moves the array out and leaves a
        // released husk, so its ownership passes to arrow-rs, which calls our
        // release callback; the schema is only borrowed for the import.
        let (ffi_array, ffi_schema) = unsafe {
            (
                FFI_ArrowArray::from_raw(&mut self.array as *mut CArray as *mut FFI_ArrowArray),
                &*(&self.schema.0 as *const CSchema as *const FFI_ArrowSchema),
            )
        };
        // SAFETY: conform checked every buffer against its format's needs.
        unsafe { from_ffi(ffi_array, ffi_schema) }
            .map_err(|e| format!("Arrow C Data import failed: {e}"))
    }
}

impl Drop for Described {
    fn drop(&mut self) {
        // The array is live only when `import` never ran; after it, a husk.
        // The schema is released by its last holder (SharedSchema's Drop).
        // SAFETY: the release callback is ours and runs at most once.
        unsafe {
            if let Some(release) = self.array.release {
                release(&mut self.array);
            }
        }
    }
}

/// Bytes each buffer of an array of `format` needs for `rows` rows (offset +
/// length). A string format's values buffer is given 0 here: its length is
/// the last offset (`values_end`), readable once the offsets are known to be
/// there. A list's child length is checked against its offsets by arrow-rs
/// validation.
fn required_lengths(format: &str, rows: usize) -> std::result::Result<Vec<usize>, String> {
    let bitmap = rows.div_ceil(8);
    let fixed = |width: usize| Ok(vec![bitmap, rows * width]);
    match format {
        "n" => Ok(vec![]),
        "b" => Ok(vec![bitmap, bitmap]),
        "c" | "C" => fixed(1),
        "s" | "S" | "e" => fixed(2),
        "i" | "I" | "f" | "tdD" => fixed(4),
        "l" | "L" | "g" | "tdm" => fixed(8),
        "u" | "z" => Ok(vec![bitmap, (rows + 1) * 4, 0]),
        "U" | "Z" => Ok(vec![bitmap, (rows + 1) * 8, 0]),
        "+l" => Ok(vec![bitmap, (rows + 1) * 4]),
        "+L" => Ok(vec![bitmap, (rows + 1) * 8]),
        "+s" => Ok(vec![bitmap]),
        f if f.starts_with("ts") => fixed(8),
        other => Err(format!("no C Data support for format {other}")),
    }
}

/// The alignment arrow-rs requires of buffer `index` of `format`.
fn alignment(format: &str, index: usize) -> usize {
    if index == 0 {
        return 1; // validity bitmaps are read bytewise
    }
    match format {
        "s" | "S" | "e" => 2,
        "i" | "I" | "f" | "tdD" | "u" | "z" | "+l" => 4,
        "l" | "L" | "g" | "tdm" | "U" | "Z" | "+L" => 8,
        f if f.starts_with("ts") => 8,
        _ => 1,
    }
}

/// Whether buffer 2 of `format` holds values sized by the last offset.
fn has_values_buffer(format: &str) -> bool {
    matches!(format, "u" | "z" | "U" | "Z")
}

/// The last offset of a string array's offsets buffer: its values' length.
///
/// SAFETY: `offsets` holds at least `rows + 1` offsets of the format's width.
unsafe fn values_end(
    format: &str,
    offsets: *const c_void,
    rows: usize,
) -> std::result::Result<usize, String> {
    let end = if format == "U" || format == "Z" {
        ptr::read_unaligned((offsets as *const i64).add(rows))
    } else {
        i64::from(ptr::read_unaligned((offsets as *const i32).add(rows)))
    };
    usize::try_from(end).map_err(|_| format!("negative last offset {end}"))
}

/// Checks that every buffer of `array` (and its children and dictionary)
/// holds the bytes its format needs, and replaces misaligned buffers by
/// aligned copies owned by the array's private data.
///
/// SAFETY: `schema` and `array` were built by build_schema/build_array (the
/// array shaped as the schema, but nothing here trusts its buffers), and the
/// JS buffers the array points into are alive.
unsafe fn conform(schema: &CSchema, array: &mut CArray) -> std::result::Result<(), String> {
    let format = std::ffi::CStr::from_ptr(schema.format)
        .to_str()
        .map_err(|_| "format is not UTF-8".to_string())?;
    let (Ok(length), Ok(offset)) = (usize::try_from(array.length), usize::try_from(array.offset))
    else {
        return Err("negative length or offset".into());
    };
    let rows = length
        .checked_add(offset)
        .ok_or_else(|| "length + offset overflows".to_string())?;
    // A dictionary-encoded array is laid out as its index type.
    let mut required = required_lengths(format, rows)?;
    let private = &mut *(array.private_data as *mut ArrayPrivate);
    if private.buffers.len() != required.len() {
        return Err(format!(
            "format {format} has {} buffers, the description {}",
            required.len(),
            private.buffers.len()
        ));
    }
    for index in 0..required.len() {
        let pointer = private.buffers[index];
        if index == 2 && has_values_buffer(format) && rows > 0 {
            // Checked above (index 1) to hold rows + 1 offsets.
            required[2] = values_end(format, private.buffers[1], rows)?;
        }
        let need = required[index];
        let have = private.lengths[index];
        if pointer.is_null() {
            // Only validity may be absent (no nulls), or a buffer of no bytes.
            if need > 0 && !(index == 0 && array.null_count == 0) {
                return Err(format!(
                    "{format} buffer {index} is missing ({need} bytes needed)"
                ));
            }
            continue;
        }
        if have < need {
            return Err(format!(
                "{format} buffer {index} holds {have} bytes, {need} needed"
            ));
        }
        if !(pointer as usize).is_multiple_of(alignment(format, index)) {
            // Not zeroed first (that was a third of this copy's cost): the
            // last word is zeroed, then the bytes cover every word.
            let words = have.div_ceil(8);
            let mut copy: Vec<u64> = Vec::with_capacity(words);
            if words > 0 {
                copy.as_mut_ptr().add(words - 1).write(0);
                ptr::copy_nonoverlapping(pointer as *const u8, copy.as_mut_ptr() as *mut u8, have);
                copy.set_len(words);
            }
            private.buffers[index] = copy.as_ptr() as *const c_void;
            private.aligned.push(copy);
        }
    }
    let n_children = private.children.len();
    if usize::try_from(schema.n_children).ok() != Some(n_children) {
        return Err("schema and array have different children".into());
    }
    for i in 0..n_children {
        conform(&**schema.children.add(i), &mut *private.children[i])?;
    }
    match (schema.dictionary.is_null(), private.dictionary.is_null()) {
        (true, true) => Ok(()),
        (false, false) => conform(&*schema.dictionary, &mut *private.dictionary),
        _ => Err("schema and array disagree on the dictionary".into()),
    }
}

/// A described record batch built but not yet read. Checking, aligning and
/// validating read every offset and string of the batch, so evalArrow runs
/// them on the engine's threads rather than the JS thread.
pub struct UncheckedBatch {
    described: Described,
}

impl UncheckedBatch {
    /// Checks, imports and validates the batch (see `conform`, `validate_batch`).
    pub fn validated(self) -> std::result::Result<RecordBatch, String> {
        let data = self.described.import()?;
        validate_batch(&data).map_err(|e| format!("Arrow batch is invalid: {e}"))?;
        let array = make_array(data);
        let structure = array
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("a record batch must be described as a struct array (format +s)")?;
        Ok(RecordBatch::from(structure))
    }
}

/// Builds the C structs of a packed struct array (`+s`) of the stream's
/// `schema`, for import later.
pub fn import_batch_unchecked(
    packed: &JsObject,
    schema: Arc<SharedSchema>,
) -> Result<UncheckedBatch> {
    Ok(UncheckedBatch {
        described: Described::build(packed, schema)?,
    })
}

/// Imports and validates a packed struct array (`+s`) of `schema` as a RecordBatch.
pub fn import_batch(packed: &JsObject, schema: Arc<SharedSchema>) -> Result<RecordBatch> {
    import_batch_unchecked(packed, schema)?
        .validated()
        .map_err(invalid)
}

/// Bytes of each buffer of an exported array, from its format and geometry.
fn buffer_lengths(format: &str, array: &FFI_ArrowArray) -> Result<Vec<usize>> {
    let rows = array.offset() + array.len();
    let mut lengths = required_lengths(format, rows).map_err(invalid)?;
    if has_values_buffer(format) && rows > 0 {
        let offsets = array.buffer(1);
        if offsets.is_null() {
            return Err(invalid("exported string array has no offsets"));
        }
        // SAFETY: arrow-rs exported the offsets buffer with rows + 1 offsets.
        lengths[2] =
            unsafe { values_end(format, offsets as *const c_void, rows) }.map_err(invalid)?;
    }
    Ok(lengths)
}

fn describe(env: &Env, schema: &FFI_ArrowSchema, array: &FFI_ArrowArray) -> Result<JsObject> {
    let format = schema.format().to_string();
    let mut object = env.create_object()?;
    object.set_named_property("format", format.as_str())?;
    object.set_named_property("name", schema.name().unwrap_or(""))?;
    object.set_named_property(
        "flags",
        schema.flags().map(|f| f.bits()).unwrap_or(0) as f64,
    )?;
    object.set_named_property("length", array.len() as f64)?;
    object.set_named_property("nullCount", array.null_count() as f64)?;
    object.set_named_property("offset", array.offset() as f64)?;
    let lengths = buffer_lengths(&format, array)?;
    let mut buffers = env.create_array_with_length(array.num_buffers())?;
    for i in 0..array.num_buffers() {
        let pointer = array.buffer(i);
        let length = lengths.get(i).copied().unwrap_or(0);
        if pointer.is_null() {
            buffers.set_element(i as u32, env.get_null()?)?;
        } else {
            // SAFETY: the exporter guarantees `length` readable bytes for this
            // buffer of this format; we copy them into JS-owned memory.
            let bytes = unsafe { std::slice::from_raw_parts(pointer, length) }.to_vec();
            buffers.set_element(i as u32, env.create_buffer_with_data(bytes)?.into_raw())?;
        }
    }
    object.set_named_property("buffers", buffers)?;
    let n_children = array.num_children();
    let mut children = env.create_array_with_length(n_children)?;
    for i in 0..n_children {
        children.set_element(i as u32, describe(env, schema.child(i), array.child(i))?)?;
    }
    object.set_named_property("children", children)?;
    match (schema.dictionary(), array.dictionary()) {
        (Some(dictionary_schema), Some(dictionary_array)) => object.set_named_property(
            "dictionary",
            describe(env, dictionary_schema, dictionary_array)?,
        )?,
        _ => object.set_named_property("dictionary", env.get_null()?)?,
    }
    Ok(object)
}

/// Exports an array through the C Data Interface and describes it to JS.
pub fn export_array(env: &Env, array: &ArrayRef, name: &str) -> Result<JsObject> {
    let data = array.to_data();
    let ffi_array = FFI_ArrowArray::new(&data);
    let field = arrow_schema::Field::new(name, array.data_type().clone(), true);
    let ffi_schema = FFI_ArrowSchema::try_from(&field)
        .map_err(|e| invalid(format!("Arrow C Data export failed: {e}")))?;
    describe(env, &ffi_schema, &ffi_array)
}

/// Exports a RecordBatch as a struct array description.
pub fn export_batch(env: &Env, batch: &RecordBatch) -> Result<JsObject> {
    let structure: ArrayRef = std::sync::Arc::new(StructArray::from(batch.clone()));
    export_array(env, &structure, "")
}
