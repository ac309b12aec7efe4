/**
 * A CodeMirror 6 field bound to a Y.Text with y-codemirror.next: remote edits are merged into the
 * local document as position-mapped changes, so the local caret stays where it was. Remote carets
 * come from awareness (`user: {name, color, colorLight}`, `cursor`). Read-only, the translated
 * labels and the binding itself live in compartments, reconfigured without rebuilding the view.
 *
 * An optional field (a shot's caption or narration) may have no Y.Text in the document yet: the
 * view then stands alone until the first local edit, which `create`s the Y.Text from what was
 * typed and binds it in place (same view, caret and focus). Nothing is written before someone types.
 */
import {
  cursorCharLeft,
  cursorCharRight,
  cursorDocEnd,
  cursorDocStart,
  cursorGroupLeft,
  cursorGroupRight,
  cursorLineBoundaryBackward,
  cursorLineBoundaryForward,
  cursorLineDown,
  cursorLineUp,
  deleteCharBackward,
  deleteCharForward,
  deleteGroupBackward,
  deleteGroupForward,
  insertNewline,
  selectAll,
  selectCharLeft,
  selectCharRight,
  selectDocEnd,
  selectDocStart,
  selectGroupLeft,
  selectGroupRight,
  selectLineBoundaryBackward,
  selectLineBoundaryForward,
  selectLineDown,
  selectLineUp,
} from '@codemirror/commands';
import { Annotation, Compartment, EditorState, Transaction, type Extension, type TransactionSpec } from '@codemirror/state';
import { EditorView, keymap, placeholder, type KeyBinding } from '@codemirror/view';
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { t, type Key, type Vars } from '../lib/i18n.js';

export interface TextEditorOptions {
  /** null: the field's text is not in the document yet (see `create`). */
  text: Y.Text | null;
  /**
   * Puts a Y.Text holding `initial` into the document and returns it (null when this page may not
   * write). Called once, on the first local edit of a field whose `text` is null.
   */
  create?: (initial: string) => Y.Text | null;
  /** One line: typed or pasted line breaks become spaces. */
  singleLine?: boolean;
  awareness: Awareness;
  editable: boolean;
  /** Longest text local typing may produce (remote edits are never refused). */
  maxChars: number;
  label: Key;
  labelVars?: Vars;
  placeholder: Key;
  onLengthChange?: (length: number) => void;
  /** The field's text after any change, local or remote. */
  onTextChange?: (text: string) => void;
}

export interface TextEditor {
  view: EditorView;
  /** Binds the field to `text` (the Y.Text now in the document at its key), or unbinds it (null). */
  setText(text: Y.Text | null): void;
  setEditable(editable: boolean): void;
  relabel(vars?: Vars): void;
  destroy(): void;
}

/**
 * The keys of a prose field (CodeMirror's defaultKeymap adds code commands that pull in the
 * syntax tree). Tab is left alone so it moves the focus.
 */
const proseKeymap: KeyBinding[] = [
  { key: 'ArrowLeft', run: cursorCharLeft, shift: selectCharLeft, preventDefault: true },
  { key: 'Mod-ArrowLeft', mac: 'Alt-ArrowLeft', run: cursorGroupLeft, shift: selectGroupLeft, preventDefault: true },
  { key: 'ArrowRight', run: cursorCharRight, shift: selectCharRight, preventDefault: true },
  { key: 'Mod-ArrowRight', mac: 'Alt-ArrowRight', run: cursorGroupRight, shift: selectGroupRight, preventDefault: true },
  { key: 'ArrowUp', run: cursorLineUp, shift: selectLineUp, preventDefault: true },
  { key: 'ArrowDown', run: cursorLineDown, shift: selectLineDown, preventDefault: true },
  { key: 'Home', run: cursorLineBoundaryBackward, shift: selectLineBoundaryBackward, preventDefault: true },
  { key: 'End', run: cursorLineBoundaryForward, shift: selectLineBoundaryForward, preventDefault: true },
  { key: 'Mod-Home', run: cursorDocStart, shift: selectDocStart },
  { key: 'Mod-End', run: cursorDocEnd, shift: selectDocEnd },
  { key: 'Enter', run: insertNewline },
  { key: 'Mod-a', run: selectAll },
  { key: 'Backspace', run: deleteCharBackward, shift: deleteCharBackward, preventDefault: true },
  { key: 'Delete', run: deleteCharForward, preventDefault: true },
  { key: 'Mod-Backspace', mac: 'Alt-Backspace', run: deleteGroupBackward, preventDefault: true },
  { key: 'Mod-Delete', mac: 'Alt-Delete', run: deleteGroupForward, preventDefault: true },
];

/** Undo and redo change the Y.Text directly, past the transaction filter: not while read-only. */
const undoKeymap: KeyBinding[] = yUndoManagerKeymap.map((binding) => {
  const { run } = binding;
  return run ? { ...binding, run: (view: EditorView) => !view.state.readOnly && run(view) } : binding;
});

const editableExtensions = (editable: boolean): Extension => [EditorState.readOnly.of(!editable), EditorView.editable.of(editable)];

/** Marks changes that come from the document rather than from typing (a newly bound Y.Text's content). */
const fromDocument = Annotation.define<true>();

/** A local change with its line breaks turned into spaces (one for one, so the selection stays valid). */
function withoutLineBreaks(tr: Transaction): TransactionSpec {
  let breaks = false;
  tr.changes.iterChanges((_fromA, _toA, _fromB, _toB, inserted) => {
    if (inserted.lines > 1) breaks = true;
  });
  if (!breaks) return tr;
  const changes: { from: number; to: number; insert: string }[] = [];
  tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => changes.push({ from: fromA, to: toA, insert: inserted.toString().replace(/\n/g, ' ') }));
  const userEvent = tr.annotation(Transaction.userEvent);
  return { changes, selection: tr.selection, scrollIntoView: tr.scrollIntoView, annotations: userEvent ? [Transaction.userEvent.of(userEvent)] : [] };
}

export function createTextEditor(parent: HTMLElement, options: TextEditorOptions): TextEditor {
  const editable = new Compartment();
  const labels = new Compartment();
  const collab = new Compartment();
  let vars = options.labelVars;
  const labelExtensions = (): Extension => [
    placeholder(t(options.placeholder)),
    EditorView.contentAttributes.of({ 'aria-label': t(options.label, vars), 'aria-multiline': options.singleLine ? 'false' : 'true' }),
  ];
  const isRemote = (tr: Transaction) => tr.annotation(ySyncAnnotation) !== undefined || tr.annotation(fromDocument) !== undefined;
  // Local changes only (remote ones carry ySyncAnnotation): none at all while read-only, since
  // EditorState.readOnly stops typing but not a dispatched change, which y-codemirror would write
  // to the Y.Text; and none past maxChars.
  const limit = EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || isRemote(tr)) return tr;
    if (tr.startState.readOnly) return [];
    if (tr.newDoc.length > options.maxChars && tr.newDoc.length > tr.startState.doc.length) return [];
    return options.singleLine ? withoutLineBreaks(tr) : tr;
  });
  let bound: Y.Text | null = null;
  let undoManager: Y.UndoManager | null = null;
  let creating = false;
  const keys = options.singleLine ? proseKeymap.filter((binding) => binding.key !== 'Enter') : proseKeymap;
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.text?.toString() ?? '',
      extensions: [
        keymap.of([...undoKeymap, ...keys]),
        EditorView.lineWrapping,
        limit,
        collab.of([]),
        editable.of(editableExtensions(options.editable)),
        labels.of(labelExtensions()),
        EditorView.updateListener.of((update) => {
          if (!update.docChanged) return;
          options.onLengthChange?.(update.state.doc.length);
          options.onTextChange?.(update.state.doc.toString());
          // The first local edit of a field not in the document yet: put it there, then bind it.
          // (After this update, not during it: a view cannot be dispatched to while it updates.)
          if (!bound && !creating && options.create && update.transactions.some((tr) => tr.docChanged && !isRemote(tr))) {
            creating = true;
            queueMicrotask(() => {
              creating = false;
              if (bound) return;
              const text = options.create?.(view.state.doc.toString()) ?? null;
              if (text) bind(text);
              else view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: '' }, annotations: fromDocument.of(true) });
            });
          }
        }),
      ],
    }),
  });

  /**
   * y-codemirror.next's sync plugin reads its Y.Text once, when it is created, and CodeMirror keeps
   * a plugin instance across reconfigurations: so the old binding is removed first, then the view
   * shows the new text's content (a change that is not written back anywhere), then the new
   * binding is added, each in its own transaction.
   */
  function bind(text: Y.Text | null): void {
    if (text === bound) return;
    if (bound) {
      view.dispatch({ effects: collab.reconfigure([]) });
      undoManager?.destroy();
      undoManager = null;
    }
    bound = text;
    const content = text?.toString() ?? '';
    if (content !== view.state.doc.toString()) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: content }, annotations: fromDocument.of(true) });
    if (text) {
      undoManager = new Y.UndoManager(text);
      view.dispatch({ effects: collab.reconfigure(yCollab(text, options.awareness, { undoManager })) });
    }
  }
  bind(options.text);
  options.onLengthChange?.(view.state.doc.length);
  return {
    view,
    setText: bind,
    setEditable(value) {
      view.dispatch({ effects: editable.reconfigure(editableExtensions(value)) });
    },
    relabel(next) {
      if (next) vars = next;
      view.dispatch({ effects: labels.reconfigure(labelExtensions()) });
    },
    destroy() {
      view.destroy();
      undoManager?.destroy();
    },
  };
}
